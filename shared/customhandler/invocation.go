// Package customhandler is the Go side of the Azure Functions custom-handler
// protocol. The Functions host (runtime v4) starts this binary, sets
// FUNCTIONS_CUSTOMHANDLER_PORT, forwards HTTP-triggered requests as ordinary
// requests (enableForwardingHttpRequest) and posts every other trigger to
// /<FunctionName> as a JSON envelope {"Data": ..., "Metadata": ...}. The host
// expects a JSON reply {"Outputs", "Logs", "ReturnValue"}; any non-2xx status
// marks the invocation failed, which makes the host retry or dead-letter it.
//
// Protocol source: learn.microsoft.com/azure/azure-functions/functions-custom-handlers
// and the host's HTTP worker (Azure/azure-functions-host,
// src/WebJobs.Script/Workers/Http).
package customhandler

import (
	"encoding/json"
	"fmt"
)

// Invocation is one non-HTTP trigger call from the host.
type Invocation struct {
	// ID is the host's invocation id (header X-Azure-Functions-InvocationId).
	ID string `json:"-"`
	// FunctionName is the function folder name the host posted to.
	FunctionName string `json:"-"`
	// Data holds one value per input binding, keyed by binding name.
	Data map[string]json.RawMessage `json:"Data"`
	// Metadata holds the trigger's binding data: message properties, blob
	// path parameters, and "sys".
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

// Result is the reply the host reads after a non-HTTP invocation.
type Result struct {
	// Outputs holds one value per output binding, keyed by binding name.
	// For bindings whose dataType is not binary the host base64-decodes any
	// string that happens to be valid base64, so send JSON objects, not text.
	Outputs map[string]any `json:"Outputs"`
	// Logs are written to the function's log after the reply, at
	// Information level.
	Logs []string `json:"Logs"`
	// ReturnValue feeds a "$return" output binding.
	ReturnValue any `json:"ReturnValue"`
}

// DecodeData decodes the Data value of binding name into v, undoing the
// host's string double-encoding.
func (inv *Invocation) DecodeData(name string, v any) error {
	raw, ok := inv.Data[name]
	if !ok {
		return fmt.Errorf("invocation %s: Data has no binding %q", inv.ID, name)
	}
	if err := decodeValue(raw, v); err != nil {
		return fmt.Errorf("invocation %s: decode Data[%q]: %w", inv.ID, name, err)
	}
	return nil
}

// DecodeMetadata decodes the Metadata value key into v. It returns false
// when the key is absent or null.
func (inv *Invocation) DecodeMetadata(key string, v any) (bool, error) {
	raw, ok := inv.Metadata[key]
	if !ok || isNull(raw) {
		return false, nil
	}
	if err := decodeValue(raw, v); err != nil {
		return true, fmt.Errorf("invocation %s: decode Metadata[%q]: %w", inv.ID, key, err)
	}
	return true, nil
}

// MetadataString returns the Metadata value key as a string, or "" when it
// is absent.
func (inv *Invocation) MetadataString(key string) (string, error) {
	var s string
	if _, err := inv.DecodeMetadata(key, &s); err != nil {
		return "", err
	}
	return s, nil
}
