// Package functions lists every function of the app. Each function is a
// folder holding the function.json the Functions host reads and a thin
// handler that calls the shared packages.
package functions

import (
	adminegress "github.com/bondingai/platform/functions/AdminEgress"
	adminportallink "github.com/bondingai/platform/functions/AdminPortalLink"
	adminsettings "github.com/bondingai/platform/functions/AdminSettings"
	analyticsdashboard "github.com/bondingai/platform/functions/AnalyticsDashboard"
	analyticskpis "github.com/bondingai/platform/functions/AnalyticsKPIs"
	analyticsrollup "github.com/bondingai/platform/functions/AnalyticsRollup"
	analyticsschedule "github.com/bondingai/platform/functions/AnalyticsSchedule"
	authcallback "github.com/bondingai/platform/functions/AuthCallback"
	authlogin "github.com/bondingai/platform/functions/AuthLogin"
	authlogout "github.com/bondingai/platform/functions/AuthLogout"
	authswitchorganization "github.com/bondingai/platform/functions/AuthSwitchOrganization"
	conversation "github.com/bondingai/platform/functions/Conversation"
	conversationmessages "github.com/bondingai/platform/functions/ConversationMessages"
	conversations "github.com/bondingai/platform/functions/Conversations"
	document "github.com/bondingai/platform/functions/Document"
	documents "github.com/bondingai/platform/functions/Documents"
	embedchunks "github.com/bondingai/platform/functions/EmbedChunks"
	health "github.com/bondingai/platform/functions/Health"
	ingestdocument "github.com/bondingai/platform/functions/IngestDocument"
	me "github.com/bondingai/platform/functions/Me"
	messagefeedback "github.com/bondingai/platform/functions/MessageFeedback"
	search "github.com/bondingai/platform/functions/Search"
	syncidentity "github.com/bondingai/platform/functions/SyncIdentity"
	workoswebhook "github.com/bondingai/platform/functions/WorkOSWebhook"
	"github.com/bondingai/platform/shared/customhandler"
	"github.com/bondingai/platform/shared/platform"
)

// registrations maps each function folder name to its Register.
var registrations = map[string]func(*customhandler.App, *platform.Platform){
	adminegress.Name:            adminegress.Register,
	health.Name:                 health.Register,
	documents.Name:              documents.Register,
	document.Name:               document.Register,
	search.Name:                 search.Register,
	ingestdocument.Name:         ingestdocument.Register,
	embedchunks.Name:            embedchunks.Register,
	authlogin.Name:              authlogin.Register,
	authcallback.Name:           authcallback.Register,
	authswitchorganization.Name: authswitchorganization.Register,
	authlogout.Name:             authlogout.Register,
	me.Name:                     me.Register,
	conversations.Name:          conversations.Register,
	conversation.Name:           conversation.Register,
	conversationmessages.Name:   conversationmessages.Register,
	messagefeedback.Name:        messagefeedback.Register,
	workoswebhook.Name:          workoswebhook.Register,
	syncidentity.Name:           syncidentity.Register,
	adminportallink.Name:        adminportallink.Register,
	adminsettings.Name:          adminsettings.Register,
	analyticsschedule.Name:      analyticsschedule.Register,
	analyticsrollup.Name:        analyticsrollup.Register,
	analyticskpis.Name:          analyticskpis.Register,
	analyticsdashboard.Name:     analyticsdashboard.Register,
}

// Register adds every function to app.
func Register(app *customhandler.App, p *platform.Platform) {
	for _, register := range registrations {
		register(app, p)
	}
}

// Names returns the folder name of every registered function.
func Names() []string {
	names := make([]string, 0, len(registrations))
	for name := range registrations {
		names = append(names, name)
	}
	return names
}
