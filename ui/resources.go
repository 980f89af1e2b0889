package ui

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/cscript-dev/cscript/action"
	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/lifecycle"
	"github.com/cscript-dev/cscript/templates"
)

type resourcesData struct {
	Deck       string
	Decks      []deckRef
	Protected  bool
	Lifecycles []*lifecycle.Definition
	Resources  []*lifecycle.Resource
}

func (s *Server) openResources(deck string, l action.Log) (*action.Configuration, *action.Resources, error) {
	act := s.act(nil, l, nil)
	env, err := act.OpenResources(action.ResourceOptions{Deck: deck})
	return act, env, err
}

func (s *Server) resourcesPage(w http.ResponseWriter, r *http.Request) {
	deck := r.URL.Query().Get("deck")
	d := resourcesData{Deck: deck}
	cat, _, err := s.act(nil, nil, nil).Catalog("")
	if err != nil {
		s.fail(w, r, "Resources", err)
		return
	}
	d.Decks = decksFor(cat)
	if deck == "" {
		s.render(w, r, http.StatusOK, "resources", page{Title: "Resources", Nav: "resources", Data: d})
		return
	}
	_, env, err := s.openResources(deck, nil)
	if err != nil {
		s.render(w, r, statusOf(err), "resources", page{Title: "Resources on " + deck, Nav: "resources", Error: err.Error(), Data: d})
		return
	}
	d.Protected = env.Deck.Protected
	d.Lifecycles = env.Lifecycles.Definitions()
	if d.Resources, err = env.States.List(r.Context()); err != nil {
		s.render(w, r, statusOf(err), "resources", page{Title: "Resources on " + deck, Nav: "resources", Error: err.Error(), Data: d})
		return
	}
	sort.Slice(d.Resources, func(i, j int) bool { return d.Resources[i].Name < d.Resources[j].Name })
	s.render(w, r, http.StatusOK, "resources", page{Title: "Resources on " + deck, Nav: "resources", Data: d})
}

type resourceData struct {
	Deck      string
	Protected bool
	Resource  *lifecycle.Resource
	Def       *lifecycle.Definition
	Plans     []string
	Metadata  string
	Limits    string
	Attrs     string
}

func (s *Server) resourcePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	deck, name := q.Get("deck"), q.Get("name")
	_, env, err := s.openResources(deck, nil)
	if err != nil {
		s.fail(w, r, "Resource "+name, err)
		return
	}
	res, err := env.States.Get(r.Context(), name)
	if err != nil {
		s.fail(w, r, "Resource "+name, err)
		return
	}
	d := resourceData{Deck: deck, Protected: env.Deck.Protected, Resource: res}
	if def, err := env.Lifecycles.Find(res.Lifecycle); err == nil {
		d.Def = def
		for p := range def.Plans {
			d.Plans = append(d.Plans, p)
		}
		sort.Strings(d.Plans)
	}
	d.Metadata = jsonText(res.BackendMetadata)
	d.Limits = jsonText(res.Limits)
	d.Attrs = jsonText(res.Attributes)
	s.render(w, r, http.StatusOK, "resource", page{Title: "Resource " + name, Nav: "resources", Data: d})
}

func jsonText(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil || string(b) == "null" {
		return ""
	}
	return string(b)
}

// resourceEvent runs a lifecycle event (create, update, pull, terminate)
// through action.RunEvent, as a live run of this server.
func (s *Server) resourceEvent(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, "Resource", fail.Wrap(fail.Usage, err))
		return
	}
	f := r.PostForm
	deck, name, ev := f.Get("deck"), strings.TrimSpace(f.Get("name")), lifecycle.Event(f.Get("event"))
	switch ev {
	case lifecycle.EventCreate, lifecycle.EventUpdate, lifecycle.EventPull, lifecycle.EventTerminate:
	default:
		s.fail(w, r, "Resource", fail.Errorf(fail.Usage, "event %q: use create, update, pull or terminate", ev))
		return
	}
	if err := lifecycle.ValidateName(name); err != nil {
		s.fail(w, r, "Resource", fail.Wrap(fail.Usage, err))
		return
	}
	o := lifecycle.Order{Event: ev, Name: name, DryRun: f.Get("dryrun") != ""}
	var err error
	if ev == lifecycle.EventCreate || ev == lifecycle.EventUpdate {
		o.Plan = f.Get("plan")
		if o.Limits, err = parseLimits(f.Get("limits")); err != nil {
			s.fail(w, r, "Resource", err)
			return
		}
	}
	if ev == lifecycle.EventCreate {
		if f.Get("lifecycle") == "" {
			s.fail(w, r, "Resource", fail.New(fail.Usage, "choose the lifecycle of the resource to create"))
			return
		}
		o.Attributes = map[string]any{}
		for _, line := range strings.Split(f.Get("attrs"), "\n") {
			if line = strings.TrimSpace(line); line == "" {
				continue
			}
			if err := templates.ParseSet(o.Attributes, line); err != nil {
				s.fail(w, r, "Resource", err)
				return
			}
		}
	}
	log := &pendingLog{}
	force := make(chan struct{})
	act := s.act(formPrompter{confirm: f.Get("confirm")}, log, force)
	env, err := act.OpenResources(action.ResourceOptions{Deck: deck})
	if err != nil {
		s.fail(w, r, "Resource", err)
		return
	}
	// A protected deck is confirmed before anything starts (RunEvent asks
	// again, through the same answer, for the event that runs).
	if env.Deck.Protected && !o.DryRun && ev != lifecycle.EventPull && strings.TrimSpace(f.Get("confirm")) != env.Deck.Name {
		s.fail(w, r, "Resource "+name, fail.Errorf(fail.Refused, "deck %s is protected: type its name in the confirmation field to %s %s; nothing was run", env.Deck.Name, ev, name))
		return
	}
	id := "event-" + randomHex(6)
	title := string(ev) + " " + name
	l := s.runs.start(id, title, deck, force, func(ctx context.Context, l *liveRun) (string, error) {
		for _, e := range log.msgs {
			l.add(e)
		}
		run := s.act(formPrompter{confirm: f.Get("confirm")}, l, force)
		out, err := run.RunEvent(ctx, env, action.EventOptions{Order: o, Lifecycle: f.Get("lifecycle")}, l)
		if out != nil && out.Resource != nil {
			for _, warn := range out.Warnings {
				l.Warn(warn)
			}
			r := out.Resource
			l.add(event{Kind: "note", Text: r.Name + ": " + string(r.State) + ", backend id " + orDash(r.BackendID)})
		}
		if err != nil {
			return "failed", err
		}
		return "succeeded", nil
	})
	l.setLink("/resource?deck=" + url.QueryEscape(deck) + "&name=" + url.QueryEscape(name))
	http.Redirect(w, r, "/run?id="+url.QueryEscape(id), http.StatusSeeOther)
}

func parseLimits(v string) (map[string]int64, error) {
	var out map[string]int64
	for _, e := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' }) {
		if strings.TrimSpace(e) == "" {
			continue
		}
		k, n, ok := strings.Cut(e, "=")
		i, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
		if !ok || strings.TrimSpace(k) == "" || err != nil {
			return nil, fail.Errorf(fail.Usage, "limit %q: give NAME=N with a whole number N (several: NAME=N,NAME=N)", e)
		}
		if out == nil {
			out = map[string]int64{}
		}
		out[strings.TrimSpace(k)] = i
	}
	return out, nil
}
