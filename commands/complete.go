package commands

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cscript-dev/cscript/lifecycle"
	"github.com/cscript-dev/cscript/store"
)

// Shell completion, cobra-style: the scripts `cscript completion SHELL`
// prints hand the words of the command line to the hidden command
// `cscript __complete WORD… CURRENT` and show what it prints: a directive
// line (":default", ":nospace" — the candidates end where more is typed, as
// `who=` — or ":files" — let the shell complete file names), then one
// candidate a line, each a whole word, with a description after a tab.

const (
	directiveDefault = ":default"
	directiveNoSpace = ":nospace"
	directiveFiles   = ":files"
)

// completeName is the hidden command the completion scripts call.
const completeName = "__complete"

// candidate is one completion: a whole word and what it is.
type candidate struct{ word, desc string }

const bashCompletion = `# bash completion for cscript
# install: cscript completion bash > /etc/bash_completion.d/cscript   (or: source <(cscript completion bash))
_cscript() {
  local line=${COMP_LINE:0:COMP_POINT} words=() lines=() cur dir i
  read -ra words <<<"$line"
  [[ $line =~ [[:space:]]$ ]] && words+=("")
  # bash cuts the word at = and : (COMP_WORDBREAKS); what it replaces is its own last word.
  cur=${COMP_WORDS[COMP_CWORD]}
  [[ $cur == "=" || $cur == ":" ]] && cur=""
  mapfile -t lines < <("${words[0]}" __complete "${words[@]:1}" 2>/dev/null)
  dir=${lines[0]}
  COMPREPLY=()
  if [[ $dir == :files ]]; then
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    return
  fi
  local strip=$(( ${#words[-1]} - ${#cur} ))
  for ((i = 1; i < ${#lines[@]}; i++)); do
    COMPREPLY+=("${lines[i]%%$'\t'*}")
    COMPREPLY[-1]=${COMPREPLY[-1]:strip}
  done
  [[ $dir == :nospace ]] && compopt -o nospace 2>/dev/null
  return 0
}
complete -F _cscript cscript
`

const zshCompletion = `#compdef cscript
# zsh completion for cscript
# install: cscript completion zsh > "${fpath[1]}/_cscript"   (or: source <(cscript completion zsh))
_cscript() {
  local -a lines described
  local dir l v d
  lines=("${(@f)$(${words[1]} __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
  dir=${lines[1]}
  if [[ $dir == :files ]]; then
    [[ $PREFIX == *=* ]] && compset -P '*='
    _files
    return
  fi
  for l in "${(@)lines[2,-1]}"; do
    [[ -z $l ]] && continue
    v=${l%%$'\t'*}
    d=""
    [[ $l == *$'\t'* ]] && d=${l#*$'\t'}
    described+=("${v//:/\\:}:$d")
  done
  if [[ $dir == :nospace ]]; then
    _describe -t cscript cscript described -S ''
  else
    _describe -t cscript cscript described
  fi
}
if [[ $funcstack[1] == _cscript ]]; then
  _cscript "$@"
else
  compdef _cscript cscript
fi
`

const fishCompletion = `# fish completion for cscript
# install: cscript completion fish > ~/.config/fish/completions/cscript.fish
function __cscript_complete
    set -l tokens (commandline -opc) (commandline -ct)
    set -l out ($tokens[1] __complete $tokens[2..-1] 2>/dev/null)
    if test "$out[1]" = ":files"
        set -l cur (commandline -ct)
        set -l pre (string replace -r '[^=]*$' '' -- $cur)
        for f in (__fish_complete_path (string replace -r '^.*=' '' -- $cur))
            echo $pre$f
        end
        return
    end
    printf '%s\n' $out[2..-1]
end
complete -c cscript -f -a '(__cscript_complete)'
`

func (a *app) completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: "bash:  cscript completion bash > /etc/bash_completion.d/cscript\n" +
			"   zsh:   cscript completion zsh > \"${fpath[1]}/_cscript\"\n" +
			"   fish:  cscript completion fish > ~/.config/fish/completions/cscript.fish\n" +
			"Commands, flags, their values (-o, --deck, --set NAME=), names of scripts, decks, libraries,\n" +
			"lifecycles and runs, and files where a file is expected.",
		Action: func(c *cli.Context) error {
			scripts := map[string]string{"bash": bashCompletion, "zsh": zshCompletion, "fish": fishCompletion}
			s, ok := scripts[c.Args().First()]
			if c.NArg() != 1 || !ok {
				return usageErrorf("completion needs one shell: bash, zsh or fish")
			}
			_, err := fmt.Fprint(a.io.Out, s)
			return err
		},
	}
}

// completeCommand is the hidden command the completion scripts call.
func (a *app) completeCommand() *cli.Command {
	return &cli.Command{
		Name:            completeName,
		Hidden:          true,
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			words := c.Args().Slice()
			if len(words) == 0 {
				words = []string{""}
			}
			dir, cands := a.complete(c.App, words[:len(words)-1], words[len(words)-1])
			var b strings.Builder
			b.WriteString(dir + "\n")
			for _, k := range cands {
				if !strings.HasPrefix(k.word, words[len(words)-1]) {
					continue
				}
				b.WriteString(k.word)
				if k.desc != "" {
					b.WriteString("\t" + strings.ReplaceAll(k.desc, "\n", " "))
				}
				b.WriteString("\n")
			}
			_, err := fmt.Fprint(a.io.Out, b.String())
			return err
		},
	}
}

// complete returns what may stand at cur after the words before it.
func (a *app) complete(app *cli.App, before []string, cur string) (string, []candidate) {
	cmds := app.Commands
	flags := app.Flags
	var path []string
	var positional []string
	var pending cli.Flag // a flag whose value cur is
	for i := 0; i < len(before); i++ {
		w := before[i]
		if w == "--" {
			positional = append(positional, before[i+1:]...)
			break
		}
		if strings.HasPrefix(w, "-") && w != "-" {
			name, _, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
			f := findFlag(flags, name)
			if f == nil {
				f = findFlag(app.Flags, name)
			}
			if f != nil && !isBoolFlag(f) && !hasValue {
				if i+1 == len(before) {
					pending = f
				}
				i++
			}
			continue
		}
		if len(positional) == 0 {
			if c := findCommand(cmds, w); c != nil && !c.Hidden {
				path = append(path, c.Name)
				cmds, flags = c.Subcommands, append(append([]cli.Flag{}, c.Flags...), app.Flags...)
				continue
			}
		}
		positional = append(positional, w)
	}
	if pending != nil && !strings.HasPrefix(cur, "-") {
		return a.completeFlagValue(pending, strings.Join(path, " "), positional, cur)
	}
	if strings.HasPrefix(cur, "-") {
		if name, _, ok := strings.Cut(strings.TrimLeft(cur, "-"), "="); ok {
			if f := findFlag(flags, name); f != nil {
				prefix := cur[:strings.Index(cur, "=")+1]
				dir, cands := a.completeFlagValue(f, strings.Join(path, " "), positional, strings.TrimPrefix(cur, prefix))
				for i := range cands {
					cands[i].word = prefix + cands[i].word
				}
				return dir, cands
			}
		}
		return directiveDefault, flagCandidates(flags)
	}
	if len(positional) == 0 && len(cmds) > 0 {
		var out []candidate
		for _, c := range cmds {
			if !c.Hidden {
				out = append(out, candidate{c.Name, c.Usage})
			}
		}
		return directiveDefault, out
	}
	return a.completeArg(strings.Join(path, " "), positional, cur)
}

func findFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

func isBoolFlag(f cli.Flag) bool {
	_, ok := f.(*cli.BoolFlag)
	return ok
}

func flagCandidates(flags []cli.Flag) []candidate {
	var out []candidate
	seen := map[string]bool{}
	for _, f := range flags {
		usage := ""
		if u, ok := f.(cli.DocGenerationFlag); ok {
			usage = strings.ReplaceAll(u.GetUsage(), "`", "")
		}
		for _, n := range f.Names() {
			w := "--" + n
			if len(n) == 1 {
				w = "-" + n
			}
			if !seen[w] {
				seen[w] = true
				out = append(out, candidate{w, usage})
			}
		}
	}
	return out
}

// choicesPattern finds the choices an --output flag's usage names (see
// outputFlag).
var choicesPattern = regexp.MustCompile("output `FORMAT`: ([a-z]+(?:, [a-z]+)* or [a-z]+)")

// completeFlagValue completes the value of flag f of command cmd.
func (a *app) completeFlagValue(f cli.Flag, cmd string, positional []string, cur string) (string, []candidate) {
	name := f.Names()[0]
	switch name {
	case "deck":
		return directiveDefault, a.deckCandidates()
	case "values", "kubeconfig", "keyring":
		return directiveFiles, nil
	case "set", "set-string", "set-json", "set-file":
		return a.completeSet(name, positional, cur)
	case "lifecycle":
		return directiveDefault, a.lifecycleCandidates()
	case "mode":
		return directiveDefault, []candidate{{"pod", "exec the script in a one-off Pod"}, {"job", "run it as a Kubernetes Job"}}
	case "context":
		return directiveDefault, kubeContexts()
	case "state":
		var out []candidate
		for _, s := range runStates {
			out = append(out, candidate{word: s})
		}
		return directiveDefault, out
	}
	if u, ok := f.(cli.DocGenerationFlag); ok {
		if m := choicesPattern.FindStringSubmatch(u.GetUsage()); m != nil {
			var out []candidate
			for _, c := range strings.FieldsFunc(strings.ReplaceAll(m[1], " or ", ", "), func(r rune) bool { return r == ',' || r == ' ' }) {
				out = append(out, candidate{word: c})
			}
			return directiveDefault, out
		}
	}
	return directiveDefault, nil
}

// completeSet offers the params of the script on the command line as
// NAME= (without a space after), then an enum's values, a bool's, or file
// names for a file param and --set-file.
func (a *app) completeSet(flag string, positional []string, cur string) (string, []candidate) {
	var params []store.Param
	if len(positional) > 0 {
		if cat, _, err := a.catalogFor(positional[0]); err == nil {
			if s, err := cat.Script(positional[0]); err == nil {
				params = s.Params
			}
		}
	}
	key, _, hasValue := strings.Cut(cur, "=")
	if !hasValue {
		var out []candidate
		for _, p := range params {
			desc := p.Description
			if p.Type != "" && p.Type != "string" {
				desc = strings.TrimSpace(p.Type + ": " + desc)
			}
			out = append(out, candidate{p.Name + "=", desc})
		}
		return directiveNoSpace, out
	}
	if flag == "set-file" {
		return directiveFiles, nil
	}
	for _, p := range params {
		if p.Name != key {
			continue
		}
		switch p.Type {
		case "file":
			return directiveFiles, nil
		case "bool":
			return directiveDefault, []candidate{{key + "=true", ""}, {key + "=false", ""}}
		case "enum":
			var out []candidate
			for _, v := range p.Values {
				out = append(out, candidate{word: key + "=" + v})
			}
			return directiveDefault, out
		}
	}
	return directiveDefault, nil
}

// completeArg completes a positional argument of command cmd ("deck show").
func (a *app) completeArg(cmd string, positional []string, cur string) (string, []candidate) {
	switch cmd {
	case "run", "render", "show", "edit", "rm":
		if len(positional) == 0 {
			return directiveDefault, a.scriptCandidates()
		}
	case "deck show", "deck edit", "deck rm", "deck use":
		if len(positional) == 0 {
			return directiveDefault, a.deckCandidates()
		}
	case "sync", "library rm", "library trust", "validate", "library remote":
		out := a.libraryCandidates()
		if cmd == "validate" {
			return directiveFiles, out
		}
		return directiveDefault, out
	case "runs show", "runs logs", "runs attach", "trace":
		if len(positional) == 0 {
			return directiveDefault, a.runCandidates(cmd == "trace")
		}
	case "completion":
		if len(positional) == 0 {
			return directiveDefault, []candidate{{"bash", ""}, {"zsh", ""}, {"fish", ""}}
		}
	case "schema":
		if len(positional) == 0 {
			var out []candidate
			for _, k := range store.SchemaKinds {
				out = append(out, candidate{word: k})
			}
			return directiveDefault, out
		}
	case "explain":
		if len(positional) == 0 {
			return directiveNoSpace, explainCandidates(cur)
		}
	case "init", "library add":
		return directiveFiles, nil
	}
	return directiveDefault, nil
}

func (a *app) scriptCandidates() []candidate {
	cat, _, err := a.catalog()
	if err != nil {
		return nil
	}
	var out []candidate
	for _, s := range cat.Scripts() {
		out = append(out, candidate{cat.Ref(s), s.Description})
	}
	return out
}

func (a *app) deckCandidates() []candidate {
	cat, _, err := a.catalog()
	if err != nil {
		return nil
	}
	var out []candidate
	for _, d := range cat.Decks() {
		out = append(out, candidate{d.Name, d.Description})
	}
	return out
}

func (a *app) libraryCandidates() []candidate {
	cfg, err := a.config()
	if err != nil {
		return nil
	}
	var out []candidate
	for _, l := range cfg.Libraries {
		out = append(out, candidate{l.Name, l.URL})
	}
	return out
}

func (a *app) lifecycleCandidates() []candidate {
	cat, _, err := a.catalog()
	if err != nil {
		return nil
	}
	var out []candidate
	for _, d := range lifecycle.Load(cat).Definitions() {
		out = append(out, candidate{d.Name, d.Description})
	}
	return out
}

func (a *app) runCandidates(last bool) []candidate {
	var out []candidate
	if last {
		out = append(out, candidate{"last", "the most recent run"})
	}
	recs, err := a.act.ListRuns(50)
	if err != nil {
		return out
	}
	for _, r := range recs {
		desc := strings.TrimSpace(fmt.Sprintf("%s on %s, %s", r.Script, r.Deck, r.Start.Local().Format("2006-01-02 15:04")))
		out = append(out, candidate{r.ID, desc})
	}
	return out
}

// explainCandidates offers the field paths below the one typed so far.
func explainCandidates(cur string) []candidate {
	if !strings.Contains(cur, ".") {
		var out []candidate
		for _, k := range store.SchemaKinds {
			out = append(out, candidate{word: k + "."})
		}
		return out
	}
	kind, _, _ := strings.Cut(cur, ".")
	doc, ok, err := store.LoadSchemaDoc(kind)
	if !ok || err != nil {
		return nil
	}
	parent := cur[:strings.LastIndex(cur, ".")]
	node := doc.Root
	for _, seg := range strings.Split(parent, ".")[1:] {
		child, _, ok := doc.Child(node, seg)
		if !ok {
			return nil
		}
		node = child
	}
	var out []candidate
	for _, f := range doc.FieldNames(node) {
		p, _, _ := doc.Child(node, f)
		word := parent + "." + f
		if len(doc.FieldNames(p)) > 0 {
			out = append(out, candidate{word + ".", describe(doc, p)}, candidate{word, describe(doc, p)})
			continue
		}
		out = append(out, candidate{word, describe(doc, p)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].word < out[j].word })
	return out
}

// kubeContexts lists the contexts of the kubeconfig ($KUBECONFIG or
// ~/.kube/config).
func kubeContexts() []candidate {
	cfg, err := clientcmd.NewDefaultClientConfigLoadingRules().Load()
	if err != nil {
		return nil
	}
	var out []candidate
	for name, c := range cfg.Contexts {
		out = append(out, candidate{name, "cluster " + c.Cluster + ", namespace " + c.Namespace})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].word < out[j].word })
	return out
}
