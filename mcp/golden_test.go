package mcp_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/steward-nhi/steward/internal/golden"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/steward-nhi/steward/mcp"
)

// offerAll satisfies every capability interface so that every tool is
// offered; listing tools never calls them.
type offerAll struct {
	mcp.Inventory
	mcp.Credentials
	mcp.Posture
	mcp.Alerts
	mcp.Usage
	mcp.Access
}

// TestToolListGolden keeps the tools an admin sees — names, titles,
// descriptions, input schemas, annotations — in testdata/tools.json: the
// contract assistants choose tools by, reviewed as a diff when it moves.
func TestToolListGolden(t *testing.T) {
	var all offerAll
	svc := mcp.Services{Inventory: all, Credentials: all, Posture: all, Alerts: all, Usage: all, Access: all}
	cs := serveRemote(t, mcp.NewServer(svc, mcp.Caller{Role: "admin"}, "test"))
	res, err := cs.ListTools(context.Background(), &sdk.ListToolsParams{})
	must(t, err)
	got, err := json.MarshalIndent(res.Tools, "", "  ")
	must(t, err)
	got = append(got, '\n')
	golden.Check(t, filepath.Join("testdata", "tools.json"), got)
}
