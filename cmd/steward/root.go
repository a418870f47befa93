package main

import (
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/steward-nhi/steward/httpapi"
)

// globals are the streams, environment and remote flags shared by commands.
type globals struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	server string
	token  string
	output string
}

func newRootCmd(getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	g := &globals{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "steward",
		Short: "Steward governs non-human identities: inventory, owners, lifecycle, evidence",
		Long: `Steward keeps the inventory of your non-human identities (API keys, service
accounts, OAuth apps, workload and AI-agent tokens) with an accountable owner,
a lifecycle and a tamper-evident history of every change.

Start a server:   steward serve --demo
Then, remotely:   export STEWARD_SERVER=http://127.0.0.1:8080 STEWARD_TOKEN=<token>
                  steward identity list --owner none`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		Version:           version,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
	}
	// A flag mistake anywhere in the tree is a usage error (exit 2).
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&g.server, "server", "", "Steward server URL (env STEWARD_SERVER; default http://127.0.0.1:8080)")
	pf.StringVar(&g.token, "token", "", "API token (env STEWARD_TOKEN)")
	pf.StringVarP(&g.output, "output", "o", "table", "output format: table, json, yaml or csv")
	root.AddCommand(
		newServeCmd(g),
		newDoctorCmd(g),
		newVersionCmd(g),
		newHealthcheckCmd(g),
		newDocsCmd(g),
		newIdentityCmd(g),
		newOwnerCmd(g),
		newTokenCmd(g),
		newImportCmd(g),
		newScanCmd(g, stdin, stdout, stderr),
		newAuditCmd(g),
		newCredentialCmd(g),
		newKeysCmd(g),
		newPolicyCmd(g),
		newAlertsCmd(g),
		newFindingsCmd(g),
		newReviewCmd(g),
		newReportCmd(g),
		newSchedulesCmd(g),
		newUsageCmd(g),
		newDiscoveryCmd(g),
		newFederationCmd(g),
		newRotationCmd(g),
		newLeaseCmd(g),
		newMCPCmd(g),
		newGatewayCmd(g),
	)
	completeEnums(root)
	for _, c := range root.Commands() {
		strictUsage(c)
	}
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json", "yaml", "csv"}, cobra.ShellCompDirectiveNoFileComp))
	return root
}

// client returns an API client from the flags and environment.
func (g *globals) client() *httpapi.Client {
	server, token := g.remote()
	c := httpapi.NewClient(server, token)
	c.UserAgent = "steward-cli/" + version
	return c
}

// remote returns the server URL and token from the flags and environment.
func (g *globals) remote() (server, token string) {
	server = g.server
	if server == "" {
		server = g.getenv("STEWARD_SERVER")
	}
	if server == "" {
		server = "http://127.0.0.1:8080"
	}
	if !strings.Contains(server, "://") {
		server = "http://" + server
	}
	token = g.token
	if token == "" {
		token = g.getenv("STEWARD_TOKEN")
	}
	return server, token
}

// open opens a file argument; "-" is stdin.
func (g *globals) open(path string) (io.ReadCloser, error) {
	if path == "-" {
		return io.NopCloser(g.stdin), nil
	}
	return os.Open(path)
}
