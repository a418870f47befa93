package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/broker"
)

// CredentialBroker is the part of the credential broker the console uses:
// an identity's credentials as the broker sees them, and rotation.
type CredentialBroker interface {
	List(ctx context.Context, identityID string) ([]*steward.BrokerCredential, error)
	Rotate(ctx context.Context, id string, in broker.RotateRequest) (*broker.Rotated, error)
}

// credentialRow is one credential on the identity page.
type credentialRow struct {
	*steward.Credential
	Issued       bool // by Steward's broker (it can rotate it)
	ClientID     string
	OverlapUntil *time.Time // replaced by a rotation; valid until then
	Rotate       bool       // the operator may rotate it now
	Dormant      string     // the dormant-credential finding's title, if any
}

// issuedByBroker reports whether Steward issued the credential (it keeps a
// digest of its secret, or a client's public key); others are recorded
// only and rotated at their provider.
func issuedByBroker(c *steward.BrokerCredential) bool { return c.Digest != "" || c.PublicJWK != "" }

// rotatable reports whether the operator may rotate the credential now:
// Steward issued it, it is active and not already being replaced, and its
// identity is active.
func rotatable(v *View, i *steward.Identity, c *steward.BrokerCredential) bool {
	return v.CanWrite() && i.Status == steward.StatusActive && issuedByBroker(c) && c.ActiveAt(v.Now) && c.OverlapUntil == nil
}

// credentials fills the identity's credentials: from the broker when it
// is wired (it knows which it issued), else from the inventory.
func (c *Console) credentials(v *View, d *identityData) error {
	ctx := v.Context()
	if c.cfg.Broker != nil {
		bcs, err := c.cfg.Broker.List(ctx, d.I.ID)
		if err == nil {
			for _, bc := range bcs {
				row := credentialRow{Credential: &bc.Credential, Issued: issuedByBroker(bc), ClientID: bc.ClientID, OverlapUntil: bc.OverlapUntil,
					Rotate: rotatable(v, d.I, bc)}
				d.CanRotate = d.CanRotate || row.Rotate
				d.Credentials = append(d.Credentials, row)
			}
			return nil
		}
		if statusOf(err) >= 500 {
			c.log.ErrorContext(ctx, "web identity page", "part", "broker credentials", "identity_id", d.I.ID, "err", err)
		}
	}
	creds, err := c.cfg.Identities.ListCredentials(ctx, d.I.ID)
	if err != nil {
		return err
	}
	for _, cr := range creds {
		d.Credentials = append(d.Credentials, credentialRow{Credential: cr})
	}
	return nil
}

// overlaps are the rotation overlaps offered: how long the replaced
// credential keeps working.
var overlaps = []struct {
	Value string
	D     time.Duration
	Label string
}{
	{"0", 0, "None: revoke it at once"},
	{"1h", time.Hour, "1 hour"},
	{"24h", 24 * time.Hour, "24 hours"},
	{"168h", 7 * 24 * time.Hour, "7 days"},
	{"720h", steward.MaxCredentialOverlap, "30 days"},
}

// defaultOverlap is preselected: a day for clients to pick up the new secret.
const defaultOverlap = "24h"

type rotateData struct {
	I        *steward.Identity
	C        *steward.BrokerCredential
	Title    string
	Effects  []string
	Overlaps []option
	Overlap  string
	Reason   string
	JWK      string
	NeedsJWK bool
}

// prepareRotate loads the credential and describes what its rotation
// will do.
func (c *Console) prepareRotate(r *http.Request, v *View) (*rotateData, error) {
	if !v.CanWrite() {
		return nil, errorf(http.StatusForbidden, "role %s may not rotate credentials", v.User.Role)
	}
	ctx := v.Context()
	i, err := c.cfg.Identities.GetIdentity(ctx, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	creds, err := c.cfg.Broker.List(ctx, i.ID)
	if err != nil {
		return nil, err
	}
	var cr *steward.BrokerCredential
	for _, x := range creds {
		if x.ID == r.PathValue("cred") {
			cr = x
		}
	}
	switch {
	case cr == nil:
		return nil, errorf(http.StatusNotFound, "identity %s has no credential %s", i.ID, r.PathValue("cred"))
	case !issuedByBroker(cr):
		return nil, errorf(http.StatusConflict, "credential %s was not issued by Steward; rotate it at its provider", cr.ID)
	case i.Status != steward.StatusActive:
		return nil, errorf(http.StatusConflict, "identity %s is %s; only an active identity's credentials can be rotated", i.Name, i.Status)
	case cr.OverlapUntil != nil:
		return nil, errorf(http.StatusConflict, "credential %s was replaced already; rotate its successor", cr.ID)
	case !cr.ActiveAt(v.Now):
		state := string(cr.Status)
		if cr.Status == steward.CredentialActive { // active in name only
			state = "expired"
			if cr.RevokedAt != nil {
				state = "revoked"
			}
		}
		return nil, errorf(http.StatusConflict, "credential %s is %s; only an active credential can be rotated", cr.ID, state)
	}
	d := &rotateData{I: i, C: cr, Title: fmt.Sprintf("Rotate the %s of %s", cr.Type, i.Name), Overlap: defaultOverlap,
		NeedsJWK: cr.Type == steward.CredentialTypePrivateKeyJWT}
	when := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
	for _, o := range overlaps {
		label := o.Label
		if o.D > 0 {
			until := v.Now.Add(o.D)
			if cr.ExpiresAt != nil && cr.ExpiresAt.Before(until) {
				until = *cr.ExpiresAt
			}
			label += " (until " + when(until) + ")"
		}
		d.Overlaps = append(d.Overlaps, option{Value: o.Value, Label: label})
	}
	name := cr.Hint
	if name == "" && cr.Fingerprint != "" {
		name = "fingerprint " + shorten(cr.Fingerprint, 12)
	}
	if name == "" {
		name = cr.ID
	}
	// The successor lives as long as the predecessor was meant to, capped by
	// the tier's maximum lifetime and the identity's expiry (as the broker
	// computes it).
	life := 90 * 24 * time.Hour
	if cr.ExpiresAt != nil {
		life = cr.ExpiresAt.Sub(cr.CreatedAt)
	}
	if limit := time.Duration(c.cfg.Policy[i.Sensitivity].MaxLifetime); limit > 0 && life > limit {
		life = limit
	}
	exp := v.Now.Add(life)
	if i.ExpiresAt != nil && i.ExpiresAt.Before(exp) {
		exp = *i.ExpiresAt
	}
	what := "scopes"
	if len(cr.AllowedCIDRs) > 0 {
		what = "scopes and allowed networks"
	}
	d.Effects = []string{fmt.Sprintf("A new %s is issued with the same %s; it expires about %s.", cr.Type, what, when(exp))}
	if cr.ClientID != "" {
		d.Effects = append(d.Effects, "The client ID "+cr.ClientID+" stays the same.")
	}
	old := "The current credential (" + name + ") stays valid for the overlap you choose, then stops working"
	if cr.ExpiresAt != nil {
		old += "; never beyond its own expiry, " + when(*cr.ExpiresAt)
	}
	d.Effects = append(d.Effects, old+". With no overlap it is revoked at once.")
	if d.NeedsJWK {
		d.Effects = append(d.Effects, "The client signs with its private key: register the new public key below. There is no secret to show.")
	} else {
		d.Effects = append(d.Effects, "Clients using the current secret must switch to the new one before the overlap ends.",
			"The new secret is shown once, on the next page. Steward keeps only its fingerprint and cannot show it again.")
	}
	d.Effects = append(d.Effects, "The rotation is recorded in the audit chain with your reason and both fingerprints.")
	return d, nil
}

func (c *Console) rotateForm(w http.ResponseWriter, r *http.Request, v *View) error {
	d, err := c.prepareRotate(r, v)
	if err != nil {
		return err
	}
	v.Title, v.Data = d.Title, d
	c.render(w, r, "rotate", v)
	return nil
}

type rotatedData struct {
	I       *steward.Identity
	New     *broker.Rotated
	Until   *time.Time // the predecessor works until then (nil: revoked)
	Revoked bool
}

// rotate issues the successor and shows its secret, once: the secret is
// in this response only, never in a log, a redirect or the store, and the
// response may not be cached.
func (c *Console) rotate(w http.ResponseWriter, r *http.Request, v *View) error {
	d, err := c.prepareRotate(r, v)
	if err != nil {
		return err
	}
	form := r.PostForm
	d.Reason, d.Overlap, d.JWK = strings.TrimSpace(form.Get("reason")), form.Get("overlap"), strings.TrimSpace(form.Get("public_jwk"))
	fail := func(err error) error {
		if statusOf(err) >= 500 {
			return err
		}
		v.Status, v.Error = statusOf(err), messageOf(err)
		if v.Status == http.StatusBadRequest {
			v.Status = http.StatusUnprocessableEntity
		}
		v.Title, v.Data = d.Title, d
		c.render(w, r, "rotate", v)
		return nil
	}
	if d.Reason == "" {
		return fail(steward.FieldError("reason", "give a reason; it is recorded with the rotation"))
	}
	overlap := time.Duration(-1)
	for _, o := range overlaps {
		if o.Value == d.Overlap {
			overlap = o.D
		}
	}
	if overlap < 0 {
		return fail(steward.FieldError("overlap", "choose one of the overlaps offered"))
	}
	in := broker.RotateRequest{Reason: shorten(d.Reason, steward.MaxNameLen-3)}
	dur := steward.Duration(overlap)
	in.Overlap = &dur
	if d.NeedsJWK {
		if d.JWK == "" {
			return fail(steward.FieldError("public_jwk", "paste the client's new public key (a JSON Web Key)"))
		}
		in.PublicJWK = json.RawMessage(d.JWK)
	}
	out, err := c.cfg.Broker.Rotate(v.Context(), d.C.ID, in)
	if err != nil {
		return fail(err)
	}
	c.invalidateDashboard()
	res := &rotatedData{I: d.I, New: out}
	if p := out.Predecessor; p != nil {
		res.Until, res.Revoked = p.OverlapUntil, p.Status == steward.CredentialRevoked || p.RevokedAt != nil
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	v.Title, v.Data = "New "+out.Type+" for "+d.I.Name, res
	c.render(w, r, "rotated", v)
	return nil
}
