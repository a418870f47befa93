package inspect_test

import (
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/steward-nhi/steward/mcp/inspect"
)

func TestParseClassifiesMessages(t *testing.T) {
	tests := []struct {
		name, in string
		method   string
		response bool
		tool     string
		keys     []string
		code     int
	}{
		{"a tools/call request", `{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"get.file_v2","arguments":{"b":1,"a":{"x":1}}}}`, "tools/call", false, "get.file_v2", []string{"a", "b"}, 0},
		{"a tools/call without arguments", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}}`, "tools/call", false, "t", nil, 0},
		{"a notification", `{"jsonrpc":"2.0","method":"notifications/initialized"}`, "notifications/initialized", false, "", nil, 0},
		{"a response to the server", `{"jsonrpc":"2.0","id":4,"result":{}}`, "", true, "", nil, 0},
		{"an error response with a null id", `{"jsonrpc":"2.0","id":null,"error":{"code":1,"message":"x"}}`, "", true, "", nil, 0},
		{"a batch", `  [{"jsonrpc":"2.0","id":1,"method":"ping"}]`, "", false, "", nil, inspect.CodeInvalidRequest},
		{"not JSON", `{"jsonrpc"`, "", false, "", nil, inspect.CodeParseError},
		{"trailing data", `{"jsonrpc":"2.0","id":1,"method":"ping"} {}`, "", false, "", nil, inspect.CodeParseError},
		{"a case-folded duplicate key", `{"jsonrpc":"2.0","id":1,"method":"ping","METHOD":"tools/call"}`, "", false, "", nil, inspect.CodeParseError},
		{"an object id", `{"jsonrpc":"2.0","id":{},"method":"ping"}`, "", false, "", nil, inspect.CodeInvalidRequest},
		{"both method and result", `{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}`, "", false, "", nil, inspect.CodeInvalidRequest},
		{"an unknown method", `{"jsonrpc":"2.0","id":1,"method":"x/y"}`, "x/y", false, "", nil, inspect.CodeMethodNotFound},
		{"a tool name with a slash", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a/b"}}`, "tools/call", false, "", nil, inspect.CodeInvalidParams},
		{"a tool name starting with a dot", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":".hidden"}}`, "tools/call", false, "", nil, inspect.CodeInvalidParams},
		{"a tool name with a NUL", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a\u0000"}}`, "tools/call", false, "", nil, inspect.CodeInvalidParams},
		{"a tool name too long", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + strings.Repeat("a", 129) + `"}}`, "tools/call", false, "", nil, inspect.CodeInvalidParams},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := inspect.Parse([]byte(tc.in))
			if tc.code != 0 {
				if err == nil || err.Code != tc.code {
					t.Fatalf("err %v, want code %d", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Method != tc.method || m.Response != tc.response || m.Tool != tc.tool || !slices.Equal(m.ArgumentKeys, tc.keys) {
				t.Fatalf("%+v", m)
			}
		})
	}
}

func TestFilterToolsKeepsWhatIsAllowed(t *testing.T) {
	in := `{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"a","inputSchema":{}},{"name":"b"},{"name":"../c"}],"nextCursor":"x"}}`
	out, err := inspect.FilterTools([]byte(in), func(n string) bool { return n != "b" })
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		ID     int `json:"id"`
		Result struct {
			Tools []struct {
				Name string `json:"name"`
			} `json:"tools"`
			Next string `json:"nextCursor"`
		} `json:"result"`
	}
	if err := json.Unmarshal(out, &got); err != nil || got.ID != 2 || len(got.Result.Tools) != 1 || got.Result.Tools[0].Name != "a" || got.Result.Next != "x" {
		t.Fatalf("%s %v", out, err)
	}
	other := `{"jsonrpc":"2.0","id":3,"result":{"content":[]}}`
	if out, _ := inspect.FilterTools([]byte(other), func(string) bool { return false }); string(out) != other {
		t.Fatalf("a non-tools result changed: %s", out)
	}
}

func TestSSEFilterRewritesEachEventsData(t *testing.T) {
	in := ": comment\r\nevent: message\nid: 1\ndata: {\"a\":\ndata: 1}\n\nretry: 5\n\ndata: last"
	r := inspect.SSEFilter(io.NopCloser(strings.NewReader(in)), func(b []byte) ([]byte, error) {
		return []byte(strings.ToUpper(strings.ReplaceAll(string(b), "\n", ""))), nil
	})
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	want := ": comment\nevent: message\nid: 1\ndata: {\"A\":1}\n\nretry: 5\n\ndata: LAST\n"
	if string(out) != want {
		t.Fatalf("got %q\nwant %q", out, want)
	}
}

// FuzzParse: Parse never panics, and what it accepts is consistent: a
// tools/call it passes names a valid tool and reads back the same way
// through encoding/json.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"a":1}}}`,
		`{"jsonrpc":"2.0","id":"x","method":"tools/list"}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":1,"result":{}}`,
		`[{"jsonrpc":"2.0"}]`, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","Name":"b"}}`,
		`{"jsonrpc":"2.0","id":1e400,"method":"ping"}`, ``, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := inspect.Parse(b)
		if err != nil {
			if err.Message == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		if m.Method == "tools/call" {
			if !inspect.ValidToolName(m.Tool) || strings.ContainsAny(m.Tool, "/\\\x00") {
				t.Fatalf("accepted tool name %q", m.Tool)
			}
			var std struct {
				Method string `json:"method"`
				Params struct {
					Name string `json:"name"`
				} `json:"params"`
			}
			if json.Unmarshal(b, &std) != nil || std.Method != m.Method || std.Params.Name != m.Tool {
				t.Fatalf("encoding/json reads %+v, the gateway %+v", std, m)
			}
		}
		if !m.Response && !inspect.KnownMethod(m.Method) {
			t.Fatalf("accepted unknown method %q", m.Method)
		}
	})
}
