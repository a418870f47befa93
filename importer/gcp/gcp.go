// Package gcp reads service-account keys as `gcloud iam service-accounts
// keys list --format=json` prints them: one identity per service account,
// one credential per key.
package gcp

import (
	"encoding/base64"
	"io"
	"strings"
	"time"

	"github.com/steward-nhi/steward"
	"github.com/steward-nhi/steward/importer/internal/kit"
)

// CredentialType is the credential type of a service-account key.
const CredentialType = "gcp_sa_key"

// key is a ServiceAccountKey. privateKeyData (present only when a key is
// created) is read to be fingerprinted and then dropped.
type key struct {
	Name            string  `json:"name"`
	KeyAlgorithm    string  `json:"keyAlgorithm"`
	KeyOrigin       string  `json:"keyOrigin"`
	KeyType         string  `json:"keyType"`
	ValidAfterTime  *string `json:"validAfterTime"`
	ValidBeforeTime *string `json:"validBeforeTime"`
	Disabled        bool    `json:"disabled"`
	DisableReason   string  `json:"disableReason"`
	PrivateKeyData  string  `json:"privateKeyData"`
}

// group is one service account being assembled from its keys.
type group struct {
	index int
	rec   steward.ImportRecord
}

// Parse reads a JSON array of keys (or the API's {"keys": […]}); now
// decides which keys have expired.
func Parse(r io.Reader, now time.Time) (kit.Result, error) {
	data, err := kit.ReadAll(r)
	if err != nil {
		return kit.Result{}, err
	}
	elems, single, err := kit.JSONArray(data, "keys")
	if err != nil {
		return kit.Result{}, err
	}
	if single {
		return kit.Result{}, kit.Invalid(elems[0].Line, "expected a JSON array of service-account keys (gcloud iam service-accounts keys list --format=json), got an object")
	}

	var c kit.Collector
	var order []string
	groups := map[string]*group{}
	for _, el := range elems {
		if c.Hopeless() {
			break
		}
		var k key
		if !c.Decode(el, &k) {
			continue
		}
		project, saRef, keyID, ok := splitName(k.Name)
		if !ok {
			c.Bad(el.Index, el.Line, k.Name, "name", "%q is not projects/P/serviceAccounts/SA/keys/KEY", k.Name)
			continue
		}
		cred, field, err := credential(k, keyID, now)
		if err != nil {
			c.Bad(el.Index, el.Line, k.Name, field, "%v", err)
			continue
		}
		g, seen := groups[saRef]
		if !seen {
			email := saRef[strings.LastIndex(saRef, "/")+1:]
			id := kit.NewIdentity(steward.KindServiceAccount, "gcp", saRef, email)
			if project != "-" {
				id.Labels["gcp_project"] = project
			}
			g = &group{index: el.Index, rec: steward.ImportRecord{Line: el.Line, Identity: id}}
			groups[saRef] = g
			order = append(order, saRef)
		}
		g.rec.Credentials = append(g.rec.Credentials, cred)
	}
	for _, ref := range order {
		g := groups[ref]
		finish(&g.rec)
		c.Add(g.index, g.rec)
	}
	return c.Result(), nil
}

// splitName splits projects/P/serviceAccounts/SA/keys/KEY.
func splitName(name string) (project, saRef, keyID string, ok bool) {
	p := strings.Split(name, "/")
	if len(p) != 6 || p[0] != "projects" || p[2] != "serviceAccounts" || p[4] != "keys" || p[1] == "" || p[3] == "" || p[5] == "" {
		return "", "", "", false
	}
	return p[1], strings.Join(p[:4], "/"), p[5], true
}

// never reports whether t is the "valid forever" end, 9999-12-31.
func never(t time.Time) bool { return t.Year() >= 9999 }

func credential(k key, keyID string, now time.Time) (steward.Credential, string, error) {
	cred := steward.Credential{
		Type:        CredentialType,
		ExternalRef: keyID,
		Status:      steward.CredentialActive,
		Metadata:    map[string]string{},
	}
	if k.ValidAfterTime != nil {
		t, err := kit.ParseTime(*k.ValidAfterTime)
		if err != nil {
			return cred, "validAfterTime", err
		}
		cred.CreatedAt = t
	}
	if k.ValidBeforeTime != nil {
		t, err := kit.ParseTime(*k.ValidBeforeTime)
		if err != nil {
			return cred, "validBeforeTime", err
		}
		if !never(t) {
			cred.ExpiresAt = &t
		}
	}
	if k.PrivateKeyData != "" {
		secret, err := base64.StdEncoding.DecodeString(k.PrivateKeyData)
		if err != nil {
			return cred, "privateKeyData", err
		}
		cred.Fingerprint = steward.Fingerprint(secret)
	}
	switch {
	case k.Disabled:
		cred.Status = steward.CredentialInactive
	case cred.ExpiresAt != nil && !cred.ExpiresAt.After(now):
		cred.Status = steward.CredentialExpired
	}
	for name, v := range map[string]string{"key_algorithm": k.KeyAlgorithm, "key_origin": k.KeyOrigin, "key_type": k.KeyType, "disable_reason": k.DisableReason} {
		if v != "" {
			cred.Metadata[name] = v
		}
	}
	// Google rotates system-managed keys itself; they are recorded but
	// marked so that rotation checks can tell them apart.
	if k.KeyType == "SYSTEM_MANAGED" {
		cred.Metadata["managed_by"] = "system"
	} else {
		cred.Metadata["managed_by"] = "user"
	}
	return cred, "", nil
}

// finish sets the identity's times and status from its keys.
func finish(rec *steward.ImportRecord) {
	var rotated []*time.Time
	expired := 0
	for _, c := range rec.Credentials {
		if c.Metadata["managed_by"] == "user" && !c.CreatedAt.IsZero() {
			rotated = append(rotated, kit.Ptr(c.CreatedAt))
		}
		if c.Status == steward.CredentialExpired {
			expired++
		}
	}
	rec.Identity.LastRotatedAt = kit.Newest(rotated...)
	if expired > 0 && expired == len(rec.Credentials) {
		rec.Identity.Status = steward.StatusExpired
	}
}
