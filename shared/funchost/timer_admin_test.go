package funchost_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bondingai/platform/shared/funchost"
	"github.com/bondingai/platform/shared/queue/localqueue/localqueuetest"
)

const everySecondFunction = `{"bindings":[
	{"type":"timerTrigger","direction":"in","name":"timer","schedule":"%RollupSchedule%"}]}`

const yearlyOnStartupFunction = `{"bindings":[
	{"type":"timerTrigger","direction":"in","name":"timer","schedule":"0 0 0 1 1 *","runOnStartup":true}]}`

func TestHostTimerFiresOnSchedule(t *testing.T) {
	appDir := writeApp(t, testApp{Functions: map[string]string{"Rollup": everySecondFunction}})
	host := startHost(t, appDir, map[string]string{"RollupSchedule": "*/1 * * * * *"}, nil)

	invocations := waitForRequests(t, host, "/Rollup", 2, 10*time.Second)
	var timer struct {
		Schedule struct {
			AdjustForDST bool
		}
		ScheduleStatus struct {
			Last, Next, LastUpdated string
		}
		IsPastDue *bool
	}
	envelope := invocations[1].envelope(t)
	if err := json.Unmarshal(envelope["Data"]["timer"], &timer); err != nil {
		t.Fatalf("decode Data.timer %s: %v", envelope["Data"]["timer"], err)
	}
	if !timer.Schedule.AdjustForDST {
		t.Error("Schedule.AdjustForDST = false, want true")
	}
	if timer.IsPastDue == nil {
		t.Error("IsPastDue missing")
	}
	last, err := time.Parse(time.RFC3339Nano, timer.ScheduleStatus.Last)
	if err != nil {
		t.Fatalf("ScheduleStatus.Last = %q: %v", timer.ScheduleStatus.Last, err)
	}
	next, err := time.Parse(time.RFC3339Nano, timer.ScheduleStatus.Next)
	if err != nil {
		t.Fatalf("ScheduleStatus.Next = %q: %v", timer.ScheduleStatus.Next, err)
	}
	if !next.After(last) {
		t.Errorf("Next %v not after Last %v", next, last)
	}
	if next.Nanosecond() != 0 {
		t.Errorf("Next = %v, want a whole second from the schedule", next)
	}
	if _, ok := envelope["Metadata"]["sys"]; !ok {
		t.Error("Metadata.sys missing")
	}
}

func TestHostTimerRunOnStartup(t *testing.T) {
	appDir := writeApp(t, testApp{Functions: map[string]string{"Yearly": yearlyOnStartupFunction}})
	host := startHost(t, appDir, nil, nil)

	invocations := waitForRequests(t, host, "/Yearly", 1, 10*time.Second)
	if len(invocations) != 1 {
		t.Errorf("Yearly invoked %d times at start-up, want 1", len(invocations))
	}
}

func TestHostAdminInvoke(t *testing.T) {
	blobs, containerName := newContainer(t)
	appDir := writeApp(t, testApp{Functions: map[string]string{
		"Yearly":    `{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"0 0 0 1 1 *"}]}`,
		"Embed":     `{"bindings":[{"type":"serviceBusTrigger","direction":"in","name":"msg","queueName":"embed","connection":"ServiceBusConnection"}]}`,
		"Ingest":    ingestFunction,
		"Documents": documentsFunction,
	}})
	host := startHost(t, appDir, map[string]string{
		"ServiceBusConnection": localqueuetest.NewDatabase(t),
		"DocumentStorage":      storageConnection(t),
		"DocumentsContainer":   containerName,
	}, func(config *funchost.Config) {
		// Keep the poller from firing the blob the admin call reads.
		config.BlobPollInterval = time.Hour
	})
	uploadBlob(t, blobs, "o1/d9/manual.txt", "manual run", nil)

	post := func(name, body string) int {
		t.Helper()
		response, err := http.Post("http://"+host.Addr+"/admin/functions/"+name, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("POST admin %s: %v", name, err)
		}
		response.Body.Close()
		return response.StatusCode
	}

	if status := post("Yearly", `{"input":""}`); status != http.StatusAccepted {
		t.Errorf("timer admin status = %d, want 202", status)
	}
	waitForRequests(t, host, "/Yearly", 1, 10*time.Second)

	if status := post("embed", `{"input":"{\"documentId\":\"d1\"}"}`); status != http.StatusAccepted {
		t.Errorf("Service Bus admin status = %d, want 202", status)
	}
	embed := waitForRequests(t, host, "/Embed", 1, 10*time.Second)
	if got := decodeString(t, embed[0].envelope(t)["Data"]["msg"]); got != `{"documentId":"d1"}` {
		t.Errorf("Service Bus admin Data.msg = %q", got)
	}

	if status := post("Ingest", `{"input":"`+containerName+`/o1/d9/manual.txt"}`); status != http.StatusAccepted {
		t.Errorf("blob admin status = %d, want 202", status)
	}
	ingest := waitForRequests(t, host, "/Ingest", 1, 10*time.Second)
	envelope := ingest[0].envelope(t)
	content, err := base64.StdEncoding.DecodeString(decodeString(t, envelope["Data"]["document"]))
	if err != nil || string(content) != "manual run" {
		t.Errorf("blob admin content = %q (%v)", content, err)
	}
	if got := decodeString(t, envelope["Metadata"]["documentId"]); got != `"d9"` {
		t.Errorf("blob admin documentId = %q", got)
	}

	cases := []struct {
		name, body string
		want       int
	}{
		{"Missing", `{"input":""}`, http.StatusNotFound},
		{"Documents", `{"input":""}`, http.StatusBadRequest},
		{"Ingest", `{"input":"no-slash"}`, http.StatusBadRequest},
		{"Yearly", `not json`, http.StatusBadRequest},
	}
	for _, c := range cases {
		if status := post(c.name, c.body); status != c.want {
			t.Errorf("admin %s with %s: status = %d, want %d", c.name, c.body, status, c.want)
		}
	}
}
