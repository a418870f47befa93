package main

import (
	"fmt"
	"io"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/steward-nhi/steward/mcp"
)

func newMCPCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "mcp",
		Short: "Serve Steward's tools to an AI assistant over MCP (stdio), acting with STEWARD_TOKEN on STEWARD_SERVER",
		Long: `Speak the Model Context Protocol on stdin/stdout, for an assistant that starts
this command. The tools (search_identities, get_identity, list_findings,
list_alerts, explain_access, posture_summary, and for roles that may write:
suspend_identity, revoke_identity, rotate_credential, revoke_credential,
acknowledge_finding) call the Steward server at STEWARD_SERVER with the token
STEWARD_TOKEN: the server authorizes every call by the token's role and records
every change with the token as the actor. Logs go to stderr; stdout carries
only MCP messages.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := g.client()
			c.UserAgent = "steward-mcp/" + version
			if c.Token == "" {
				return fmt.Errorf("steward mcp needs a token: set STEWARD_TOKEN (or --token)")
			}
			caller, err := mcp.RemoteCaller(cmd.Context(), c)
			if err != nil {
				return fmt.Errorf("ask the server who the token is: %w", err)
			}
			if caller.NHI && !caller.Delegated {
				return fmt.Errorf("STEWARD_TOKEN is a non-human identity's credential, which has no role to act with; give the assistant an operator token (steward token create --role auditor|operator|owner) or a token delegated to it (steward token exchange --subject-token <operator token> --actor-token <agent token>)")
			}
			srv := mcp.NewServer(mcp.Remote(c), caller, version)
			t := &sdk.IOTransport{Reader: io.NopCloser(g.stdin), Writer: nopWriteCloser{g.stdout}}
			return srv.Run(cmd.Context(), t)
		},
	}
}

// nopWriteCloser leaves stdout open when the session ends.
type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
