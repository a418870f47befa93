// Package azure reads Entra ID (Azure AD) application and service-principal
// credentials: passwordCredentials (client secrets) and keyCredentials
// (certificates) as Microsoft Graph and `az ad app show` return them.
package azure

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/importer/internal/kit"
)

// Credential types.
const (
	TypeClientSecret = "azure_client_secret"
	TypeCertificate  = "azure_certificate"
)

// app is an application or service principal object.
type app struct {
	ID                  string        `json:"id"`
	AppID               string        `json:"appId"`
	DisplayName         string        `json:"displayName"`
	PasswordCredentials *[]credential `json:"passwordCredentials"`
	KeyCredentials      *[]credential `json:"keyCredentials"`
	// Set only when the object is a credential, in a bare list of them.
	KeyID *string `json:"keyId"`
}

// credential is a passwordCredential or keyCredential. secretText and key
// are read to be fingerprinted and then dropped.
type credential struct {
	KeyID               string  `json:"keyId"`
	DisplayName         string  `json:"displayName"`
	CustomKeyIdentifier *string `json:"customKeyIdentifier"`
	StartDateTime       *string `json:"startDateTime"`
	EndDateTime         *string `json:"endDateTime"`
	Hint                *string `json:"hint"`
	SecretText          *string `json:"secretText"`
	Key                 *string `json:"key"`
	Type                string  `json:"type"`
	Usage               string  `json:"usage"`
	AppID               string  `json:"appId"`
	AppDisplayName      string  `json:"appDisplayName"`
}

// Parse reads one application object, an array of them, Graph's
// {"value": […]}, or a bare array of credentials that carry an appId.
// now decides which credentials have expired.
func Parse(r io.Reader, now time.Time) (kit.Result, error) {
	data, err := kit.ReadAll(r)
	if err != nil {
		return kit.Result{}, err
	}
	elems, _, err := kit.JSONArray(data, "value")
	if err != nil {
		return kit.Result{}, err
	}
	p := parser{now: now}
	if bare, err := bareCredentials(elems); err != nil {
		return kit.Result{}, err
	} else if bare {
		p.bare(elems)
	} else {
		p.apps(elems)
	}
	return p.c.Result(), nil
}

// bareCredentials tells a list of credentials from a list of applications
// by its first object, and rejects a list that never says which
// application it belongs to.
func bareCredentials(elems []kit.Element) (bool, error) {
	for _, el := range elems {
		var a app
		if json.Unmarshal(el.Raw, &a) != nil {
			continue
		}
		if a.PasswordCredentials != nil || a.KeyCredentials != nil || a.KeyID == nil {
			return false, nil
		}
		for _, el := range elems {
			var c credential
			if json.Unmarshal(el.Raw, &c) == nil && c.AppID != "" {
				return true, nil
			}
		}
		return false, kit.Invalid(el.Line, "record %d is a credential (keyId %s) but no record says which application it belongs to: export the application instead (az ad app show --id APP_ID, or Graph GET /applications/{id}), or add appId to each credential", el.Index, *a.KeyID)
	}
	return false, nil
}

type parser struct {
	c   kit.Collector
	now time.Time
}

// apps reads application objects.
func (p *parser) apps(elems []kit.Element) {
	for _, el := range elems {
		if p.c.Hopeless() {
			break
		}
		var a app
		if !p.c.Decode(el, &a) {
			continue
		}
		if strings.TrimSpace(a.AppID) == "" {
			p.c.Bad(el.Index, el.Line, a.DisplayName, "appId", "is missing")
			continue
		}
		rec := steward.ImportRecord{Line: el.Line, Identity: identity(a.AppID, a.DisplayName)}
		if a.ID != "" {
			rec.Identity.Labels["azure_object_id"] = a.ID
		}
		ok := true
		for _, set := range []struct {
			field string
			typ   string
			list  *[]credential
		}{
			{"passwordCredentials", TypeClientSecret, a.PasswordCredentials},
			{"keyCredentials", TypeCertificate, a.KeyCredentials},
		} {
			if set.list == nil {
				continue
			}
			for n, c := range *set.list {
				cred, field, err := p.credential(c, set.typ)
				if err != nil {
					p.c.Bad(el.Index, el.Line, a.AppID, fmt.Sprintf("%s[%d].%s", set.field, n, field), "%v", err)
					ok = false
					break
				}
				rec.Credentials = append(rec.Credentials, cred)
			}
		}
		if ok {
			p.finish(&rec)
			p.c.Add(el.Index, rec)
		}
	}
}

// bare reads a list of credentials, grouped by appId in order of first
// appearance.
func (p *parser) bare(elems []kit.Element) {
	type group struct {
		index int
		rec   steward.ImportRecord
	}
	var order []string
	groups := map[string]*group{}
	for _, el := range elems {
		var c credential
		if !p.c.Decode(el, &c) {
			continue
		}
		if c.AppID == "" {
			p.c.Bad(el.Index, el.Line, c.KeyID, "appId", "is missing: the credential's application is unknown")
			continue
		}
		typ := TypeClientSecret
		if c.Type != "" || c.Usage != "" || c.Key != nil {
			typ = TypeCertificate
		}
		cred, field, err := p.credential(c, typ)
		if err != nil {
			p.c.Bad(el.Index, el.Line, c.AppID, field, "%v", err)
			continue
		}
		g, ok := groups[c.AppID]
		if !ok {
			g = &group{index: el.Index, rec: steward.ImportRecord{Line: el.Line, Identity: identity(c.AppID, c.AppDisplayName)}}
			groups[c.AppID] = g
			order = append(order, c.AppID)
		}
		g.rec.Credentials = append(g.rec.Credentials, cred)
	}
	for _, ref := range order {
		g := groups[ref]
		p.finish(&g.rec)
		p.c.Add(g.index, g.rec)
	}
}

func identity(appID, displayName string) steward.Identity {
	name := strings.TrimSpace(displayName)
	if name == "" {
		name = appID
	}
	return kit.NewIdentity(steward.KindServiceAccount, "azure", strings.TrimSpace(appID), name)
}

// credential converts one credential; on error it names the field.
func (p *parser) credential(c credential, typ string) (steward.Credential, string, error) {
	cred := steward.Credential{
		Type:        typ,
		ExternalRef: strings.TrimSpace(c.KeyID),
		Status:      steward.CredentialActive,
		Metadata:    map[string]string{},
	}
	if cred.ExternalRef == "" {
		return cred, "keyId", fmt.Errorf("is missing")
	}
	if c.StartDateTime != nil && *c.StartDateTime != "" {
		t, err := kit.ParseTime(*c.StartDateTime)
		if err != nil {
			return cred, "startDateTime", err
		}
		cred.CreatedAt = t
	}
	if c.EndDateTime != nil && *c.EndDateTime != "" {
		t, err := kit.ParseTime(*c.EndDateTime)
		if err != nil {
			return cred, "endDateTime", err
		}
		cred.ExpiresAt = &t
		if !t.After(p.now) {
			cred.Status = steward.CredentialExpired
		}
	}
	if c.Hint != nil {
		cred.Hint = *c.Hint
	}
	switch {
	case c.SecretText != nil && *c.SecretText != "":
		cred.Fingerprint = steward.Fingerprint([]byte(*c.SecretText))
	case c.Key != nil && *c.Key != "":
		der, err := base64.StdEncoding.DecodeString(*c.Key)
		if err != nil {
			return cred, "key", fmt.Errorf("is not base64: %v", err)
		}
		cred.Fingerprint = steward.Fingerprint(der)
	}
	for name, v := range map[string]string{"display_name": c.DisplayName, "key_type": c.Type, "usage": c.Usage} {
		if v != "" {
			cred.Metadata[name] = v
		}
	}
	if c.CustomKeyIdentifier != nil && *c.CustomKeyIdentifier != "" {
		cred.Metadata["custom_key_identifier"] = *c.CustomKeyIdentifier
	}
	return cred, "", nil
}

// finish sets the identity's expiry, rotation time and status from its
// credentials.
func (p *parser) finish(rec *steward.ImportRecord) {
	var ends, starts []*time.Time
	expired := 0
	for _, c := range rec.Credentials {
		ends = append(ends, c.ExpiresAt)
		if !c.CreatedAt.IsZero() {
			starts = append(starts, kit.Ptr(c.CreatedAt))
		}
		if c.Status == steward.CredentialExpired {
			expired++
		}
	}
	rec.Identity.ExpiresAt = kit.Newest(ends...)
	rec.Identity.LastRotatedAt = kit.Newest(starts...)
	if expired > 0 && expired == len(rec.Credentials) {
		rec.Identity.Status = steward.StatusExpired
	}
}
