package steward_test

import (
	"testing"

	"github.com/steward-nhi/steward"
)

func TestForgetOrWake(t *testing.T) {
	tests := []struct {
		name       string
		ch         steward.Change
		wantForget string
		wantWake   bool
	}{
		{"a local identity change forgets the identity", steward.Change{Subject: steward.SubjectIdentity, IdentityID: "nhi_1"}, "nhi_1", false},
		{"a local credential change forgets its identity", steward.Change{Subject: steward.SubjectCredential, ID: "cred_1", IdentityID: "nhi_2"}, "nhi_2", false},
		{"a local import forgets the identity it names", steward.Change{Subject: steward.SubjectImport, IdentityID: "nhi_3"}, "nhi_3", false},
		{"a local token change concerns no identity cache", steward.Change{Subject: steward.SubjectToken, ID: "tok_1"}, "", false},
		{"a remote change wakes the chain reader", steward.Change{Remote: true, Seq: 9, IdentityID: "nhi_4"}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wake := make(chan struct{}, 1)
			forgot := ""
			steward.ForgetOrWake(func(id string) { forgot = id }, wake)(tc.ch)
			woke := len(wake) == 1
			if forgot != tc.wantForget || woke != tc.wantWake {
				t.Fatalf("forgot %q woke %v, want %q %v", forgot, woke, tc.wantForget, tc.wantWake)
			}
		})
	}
	t.Run("a wake already pending does not block", func(t *testing.T) {
		wake := make(chan struct{}, 1)
		fn := steward.ForgetOrWake(func(string) {}, wake)
		fn(steward.Change{Remote: true})
		fn(steward.Change{Remote: true})
		if len(wake) != 1 {
			t.Fatalf("%d wakes pending, want 1", len(wake))
		}
	})
}
