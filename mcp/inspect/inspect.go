// Package inspect reads the JSON-RPC 2.0 messages of the Model Context
// Protocol as they cross the gateway: it classifies one message (request,
// notification or response), extracts what an authorization decision
// needs from a tools/call (the tool name and the arguments' top-level
// keys), and filters tools/list results, in JSON or in a server-sent
// event stream. It refuses what an upstream might read differently from
// the gateway: batches, duplicate or case-folded keys, malformed tool
// names.
package inspect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// JSON-RPC 2.0 error codes.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	// CodeForbidden is the code of a tools/call the policy denies
	// (implementation-defined server error range).
	CodeForbidden = -32003
)

// Error is a JSON-RPC error the gateway answers with.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("json-rpc %d: %s", e.Code, e.Message) }

// Message is one inspected JSON-RPC message.
type Message struct {
	// ID is the raw id (nil for a notification).
	ID     json.RawMessage
	Method string
	// Response is true for a response (result or error, no method).
	Response bool
	// Tool and ArgumentKeys are set for tools/call.
	Tool         string
	ArgumentKeys []string
}

// Limits on what a tools/call may carry.
const (
	MaxToolName     = 128
	MaxArgumentKeys = 256
)

// methods are the MCP methods a client sends to a server (revision
// 2025-06-18 and later); anything else is refused as unknown.
var methods = map[string]bool{
	"initialize": true, "ping": true,
	"tools/list": true, "tools/call": true,
	"resources/list": true, "resources/read": true, "resources/templates/list": true,
	"resources/subscribe": true, "resources/unsubscribe": true,
	"prompts/list": true, "prompts/get": true,
	"completion/complete": true, "logging/setLevel": true,
	"notifications/initialized": true, "notifications/cancelled": true,
	"notifications/progress": true, "notifications/roots/list_changed": true,
	"tasks/get": true, "tasks/list": true, "tasks/result": true, "tasks/cancel": true,
}

// KnownMethod reports whether m is an MCP client-to-server method.
func KnownMethod(m string) bool { return methods[m] }

// ValidToolName reports whether name is a tool name the gateway accepts:
// 1-128 of A-Z a-z 0-9 _ - ., not starting with a dot and without "..",
// so that Tool::"server/name" cannot be made to name another path.
func ValidToolName(name string) bool {
	if name == "" || len(name) > MaxToolName || name[0] == '.' || strings.Contains(name, "..") {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// Parse inspects one JSON-RPC message. A batch, a malformed message, an
// unknown method or bad tools/call parameters is an *Error with the code
// to answer.
func Parse(b []byte) (*Message, *Error) {
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) > 0 && t[0] == '[' {
		return nil, &Error{CodeInvalidRequest, "batch requests are not accepted; send one JSON-RPC message per request"}
	}
	top, err := object(b, "message")
	if err != nil {
		return nil, &Error{CodeParseError, err.Error()}
	}
	var m Message
	if v, ok := top["jsonrpc"]; !ok || string(v) != `"2.0"` {
		return nil, &Error{CodeInvalidRequest, `"jsonrpc" must be "2.0"`}
	}
	if id, ok := top["id"]; ok {
		switch id[0] {
		case '"', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			m.ID = id
		case 'n':
			// null: allowed only on an error response
		default:
			return nil, &Error{CodeInvalidRequest, `"id" must be a string or a number`}
		}
	}
	_, hasResult := top["result"]
	_, hasError := top["error"]
	raw, hasMethod := top["method"]
	switch {
	case hasMethod && (hasResult || hasError):
		return nil, &Error{CodeInvalidRequest, "a message is a request or a response, not both"}
	case !hasMethod:
		if hasResult == hasError || (m.ID == nil && !hasError) {
			return nil, &Error{CodeInvalidRequest, `a request needs "method"; a response needs "id" and one of "result" and "error"`}
		}
		m.Response = true
		return &m, nil
	}
	if json.Unmarshal(raw, &m.Method) != nil || m.Method == "" {
		return nil, &Error{CodeInvalidRequest, `"method" must be a non-empty string`}
	}
	if !KnownMethod(m.Method) {
		return &m, &Error{CodeMethodNotFound, fmt.Sprintf("method %q is not an MCP method this gateway forwards", trim(m.Method, 64))}
	}
	if m.Method == "tools/call" {
		if m.ID == nil {
			return nil, &Error{CodeInvalidRequest, "tools/call must be a request with an id"}
		}
		if err := m.toolCall(top["params"]); err != nil {
			return &m, err
		}
	}
	return &m, nil
}

func (m *Message) toolCall(raw json.RawMessage) *Error {
	if raw == nil {
		return &Error{CodeInvalidParams, "tools/call needs params"}
	}
	params, err := object(raw, "params")
	if err != nil {
		return &Error{CodeInvalidParams, err.Error()}
	}
	if json.Unmarshal(params["name"], &m.Tool) != nil || !ValidToolName(m.Tool) {
		return &Error{CodeInvalidParams, fmt.Sprintf("params.name must be a tool name of 1-%d letters, digits, '_', '-' or '.' (no leading dot, no '..')", MaxToolName)}
	}
	args, ok := params["arguments"]
	if !ok || string(args) == "null" {
		return nil
	}
	am, err := object(args, "params.arguments")
	if err != nil {
		return &Error{CodeInvalidParams, err.Error()}
	}
	if len(am) > MaxArgumentKeys {
		return &Error{CodeInvalidParams, fmt.Sprintf("params.arguments has more than %d keys", MaxArgumentKeys)}
	}
	m.ArgumentKeys = make([]string, 0, len(am))
	for k := range am {
		m.ArgumentKeys = append(m.ArgumentKeys, k)
	}
	slices.Sort(m.ArgumentKeys)
	return nil
}

// object decodes one JSON object's members, refusing duplicate keys and
// keys equal to another but for case (encoding/json matches keys without
// regard to case, other parsers do not), and trailing data.
func object(b []byte, what string) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%s is not JSON: %s", what, cause(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%s must be a JSON object", what)
	}
	out := map[string]json.RawMessage{}
	folded := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s is not JSON: %s", what, cause(err))
		}
		k := tok.(string)
		lk := strings.ToLower(k)
		if folded[lk] {
			return nil, fmt.Errorf("%s has key %q twice (keys are compared without case)", what, trim(k, 64))
		}
		folded[lk] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s is not JSON: %s", what, cause(err))
		}
		out[k] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%s is not JSON: %s", what, cause(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s has data after the object", what)
	}
	return out, nil
}

func cause(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s at byte %d", se.Error(), se.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "unexpected end of input"
	}
	return "invalid"
}

func trim(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// ErrorResponse is the JSON-RPC error response to the request with id
// (null when id is nil).
func ErrorResponse(id json.RawMessage, code int, msg string) []byte {
	if id == nil {
		id = json.RawMessage("null")
	}
	b, _ := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}{JSONRPC: "2.0", ID: id, Error: struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{code, msg}})
	return b
}
