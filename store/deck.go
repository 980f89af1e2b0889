package store

// Credentials returns the credentials a run of s on deck d uses: the
// script's, in its order, with the source of each replaced by the deck's
// credential of the same name when the deck has one (the description stays
// the script's unless the deck gives one). Deck credentials that the script
// does not declare are not added: a deck serves many scripts. d may be nil.
func Credentials(s *Script, d *Deck) []Credential {
	out := make([]Credential, len(s.Credentials))
	copy(out, s.Credentials)
	if d == nil {
		return out
	}
	byName := make(map[string]Credential, len(d.Credentials))
	for _, c := range d.Credentials {
		byName[c.Name] = c
	}
	for i, c := range out {
		o, ok := byName[c.Name]
		if !ok {
			continue
		}
		desc := c.Description
		if o.Description != "" {
			desc = o.Description
		}
		out[i] = o
		out[i].Description = desc
	}
	return out
}

// BackendName returns the deck's backend, BackendKubernetes when unset.
func (d *Deck) BackendName() string {
	if d.Backend == "" {
		return BackendKubernetes
	}
	return d.Backend
}
