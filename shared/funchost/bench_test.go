package funchost_test

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkHostHTTPForwarding measures one GET forwarded through the host to
// the fake handler and relayed back, over loopback.
func BenchmarkHostHTTPForwarding(b *testing.B) {
	appDir := writeApp(b, testApp{Functions: map[string]string{"Any": anyRouteFunction}})
	host := startHost(b, appDir, nil, nil)
	client := &http.Client{}
	url := "http://" + host.Addr + "/api/bench"

	b.ResetTimer()
	for b.Loop() {
		response, err := client.Get(url)
		if err != nil {
			b.Fatalf("GET: %v", err)
		}
		io.Copy(io.Discard, response.Body) //nolint:errcheck // draining for connection reuse
		response.Body.Close()
		if response.StatusCode != http.StatusCreated {
			b.Fatalf("status = %d", response.StatusCode)
		}
	}
}
