package main

import "testing"

func TestRequireLoopbackAddrAcceptsLoopback(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:7072", "localhost:7072", "[::1]:7072", "127.0.0.2:0"} {
		if err := requireLoopbackAddr(addr); err != nil {
			t.Errorf("requireLoopbackAddr(%q) = %v, want nil", addr, err)
		}
	}
}

func TestRequireLoopbackAddrRejectsOthers(t *testing.T) {
	for _, addr := range []string{":7072", "0.0.0.0:7072", "[::]:7072", "192.0.2.10:7072", "example.com:7072", "7072"} {
		if err := requireLoopbackAddr(addr); err == nil {
			t.Errorf("requireLoopbackAddr(%q) = nil, want an error", addr)
		}
	}
}
