package web

import "github.com/steward-nhi/steward"

// checkCredentialDormant is the posture check that flags one unused
// credential of an identity in use.
const checkCredentialDormant = "credential.dormant"

// markDormantCredentials flags, on the identity page, the credentials with
// an unresolved dormant-credential finding, with the finding's title.
func markDormantCredentials(d *identityData) {
	dormant := map[string]string{}
	for _, f := range d.Findings {
		if f.Check == checkCredentialDormant && f.CredentialID != "" && f.Status != steward.FindingResolved {
			dormant[f.CredentialID] = f.Title
		}
	}
	for n := range d.Credentials {
		if t, ok := dormant[d.Credentials[n].ID]; ok {
			d.Credentials[n].Dormant = t
		}
	}
}
