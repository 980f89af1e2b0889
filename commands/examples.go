package commands

import (
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

// examples are the EXAMPLES section of each command's help, by the
// command's path ("" is cscript itself). Every visible command has some
// (TestHelpShowsExamples), and each is a command line that parses: the
// command exists and takes the flags given.
var examples = map[string][]string{
	"": {
		"cscript init",
		"cscript list",
		"cscript render hello --deck local --set who=you",
		"cscript run hello --deck local --set who=you",
		"cscript runs",
		"cscript --version",
	},
	"init": {
		"cscript init                           # the examples, in ~/.local/share/cscript/library",
		"cscript init ~/ops-scripts --empty     # a library named ops-scripts, without the examples",
		"cscript init ./lib --name team",
	},
	"list": {
		"cscript list",
		"cscript list db                        # scripts whose LIB/NAME contains db",
		"cscript list team/ --tag backup -o json",
	},
	"show":     {"cscript show db-dump", "cscript show team/db-dump -o json"},
	"new":      {"cscript new backup", "cscript new backup -l team --no-edit", "cscript new db-dump-prod --from db-dump"},
	"edit":     {"cscript edit hello", "EDITOR='code --wait' cscript edit team/db-dump"},
	"rm":       {"cscript rm hello", "cscript rm team/old-backup --yes"},
	"mv":       {"cscript mv hello greet", "cscript mv team/db-dump team/pg-dump"},
	"validate": {"cscript validate", "cscript validate .                     # a library directory, in CI", "cscript validate team -o json"},
	"render": {
		"cscript render hello --deck local --set who=you",
		"cscript render db-dump --deck staging -o yaml        # the resolved definition",
		"cscript render db-dump --deck staging --pod          # the Pod and Secret a run creates",
		"cscript render hello --deck local --pod --mode job -o json",
		"cscript render hello -f values.yaml --set-string code=007",
	},
	"run": {
		"cscript run hello --deck local --set who=you",
		"cscript run db-restore --deck staging --set dump=./prod.sql.gz --yes",
		"cscript run db-dump --deck prod --mode job --detach",
		"gzip -dc dump.gz | cscript run psql --deck local -i",
	},
	"resource": {"cscript resource list --deck local", "cscript resource create vm1 --lifecycle demo-vm --deck local --plan small"},
	"resource create": {
		"cscript resource create vm1 --lifecycle demo-vm --deck local --plan small --attr owner=ann",
		"cscript resource create vm2 --lifecycle demo-vm --deck local --limit cpu=2,ram=512 --dry-run",
	},
	"resource update":    {"cscript resource update vm1 --deck local --plan large", "cscript resource update vm1 --deck local --limit cpu=4"},
	"resource terminate": {"cscript resource terminate vm1 --deck local"},
	"resource pull":      {"cscript resource pull vm1 --deck local", "cscript resource pull --all --deck local --every 1h"},
	"resource list":      {"cscript resource list --deck local", "cscript resource list --deck local -o json"},
	"resource show":      {"cscript resource show vm1 --deck local", "cscript resource show vm1 --deck local -o yaml"},
	"resource forget":    {"cscript resource forget vm1 --deck local", "cscript resource forget vm1 --deck local --force --yes"},
	"lifecycle":          {"cscript lifecycle list", "cscript lifecycle show demo-vm"},
	"lifecycle list":     {"cscript lifecycle list", "cscript lifecycle list vm -o json"},
	"lifecycle show":     {"cscript lifecycle show demo-vm", "cscript lifecycle show team/demo-vm -o json"},
	"runs": {
		"cscript runs",
		"cscript runs --script db-dump --state failed --since 7d",
		"cscript runs --deck prod --since 2026-01-31 -o json",
		"cscript runs --cluster --deck prod --user alice",
	},
	"runs show":   {"cscript runs show last", "cscript runs show 20261124-215301-ab12cd -o json"},
	"runs attach": {"cscript runs attach last", "cscript runs attach 20261124-215301-ab12cd"},
	"runs logs":   {"cscript runs logs last", "cscript runs logs 20261124-215301-ab12cd"},
	"trace":       {"cscript trace", "cscript trace 20261124-215301-ab12cd"},
	"gc":          {"cscript gc --dry-run --deck prod", "cscript gc --older-than 2h -A"},
	"deck":        {"cscript deck list", "cscript deck show staging"},
	"deck list":   {"cscript deck list", "cscript deck list -o yaml"},
	"deck show":   {"cscript deck show staging", "cscript deck show team/prod -o json"},
	"deck new":    {"cscript deck new staging", "cscript deck new prod -l team"},
	"deck edit":   {"cscript deck edit staging"},
	"deck rm":     {"cscript deck rm staging", "cscript deck rm team/old --yes"},
	"deck use":    {"cscript deck use staging", "cscript deck use --clear"},
	"library":     {"cscript library list", "cscript library add team git@github.com:acme/cluster-scripts.git"},
	"library add": {
		"cscript library add team git@github.com:acme/cluster-scripts.git",
		"cscript library add ops https://example.com/ops.git --branch main --verify-signatures --keyring ops.asc",
		"cscript library add mine ~/scripts",
	},
	"library remote": {"cscript library remote local git@github.com:me/scripts.git"},
	"library trust":  {"cscript library trust team --dry-run", "cscript library trust team", "cscript library trust team --revoke"},
	"library list":   {"cscript library list", "cscript library list -o json"},
	"library rm":     {"cscript library rm team"},
	"sync":           {"cscript sync", "cscript sync team"},
	"ui":             {"cscript ui", "cscript ui --addr 127.0.0.1:8080 --open"},
	"completion": {
		"source <(cscript completion bash)",
		"cscript completion zsh > \"${fpath[1]}/_cscript\"",
		"cscript completion fish > ~/.config/fish/completions/cscript.fish",
	},
	"alias":   {"cscript alias >> ~/.bashrc", "cscript alias --deck local --prefix cs-local-"},
	"schema":  {"cscript schema script > script.schema.json", "cscript schema deck"},
	"explain": {"cscript explain script", "cscript explain script.credentials.fromCommand", "cscript explain deck.teamHistory.keep"},
	"version": {"cscript version"},
}

// addExamples appends the EXAMPLES section of each command in cmds (and
// their subcommands) to its help; parent is "" or "NAME " of their parent.
func addExamples(app *cli.App, cmds []*cli.Command, parent string) {
	if parent == "" {
		app.CustomAppHelpTemplate = cli.AppHelpTemplate + examplesSection(examples[""])
	}
	for _, c := range cmds {
		path := parent + c.Name
		if ex := examples[path]; len(ex) > 0 {
			base := cli.CommandHelpTemplate
			if len(c.Subcommands) > 0 {
				base = cli.SubcommandHelpTemplate
			}
			c.CustomHelpTemplate = base + examplesSection(ex)
		}
		addExamples(app, c.Subcommands, path+" ")
	}
}

// examplesSection is the help template text of an EXAMPLES section: each
// line a quoted string constant, so that the template never reads it.
func examplesSection(lines []string) string {
	var b strings.Builder
	b.WriteString("\nEXAMPLES:\n")
	for _, l := range lines {
		b.WriteString("   {{" + strconv.Quote(l) + "}}\n")
	}
	return b.String()
}
