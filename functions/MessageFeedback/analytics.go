package messagefeedback

import "github.com/bondingai/platform/shared/store"

// feedbackScore maps a rating to the usage event's score: +1 for up, -1
// for down.
func feedbackScore(rating string) int {
	if rating == store.RatingUp {
		return 1
	}
	return -1
}
