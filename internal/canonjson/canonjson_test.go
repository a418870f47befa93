package canonjson

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/steward-nhi/steward"
)

func sampleEvent(before, after string) *steward.Event {
	e := &steward.Event{Seq: 42, ID: "evt_01", Time: time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC), Actor: "token:abc",
		Action: "identity.update", SubjectType: "identity", SubjectID: "nhi_1", IdentityID: "nhi_1", Reason: "rotate <now> & \"then\"",
		PrevHash: steward.GenesisHash}
	if before != "" {
		e.Before = json.RawMessage(before)
	}
	if after != "" {
		e.After = json.RawMessage(after)
	}
	return e
}

// The reference is steward.Event.ComputeHash: SHA-256 of the root package's
// CanonicalBytes, which decodes before/after into maps.

func TestEntryHashMatchesReference(t *testing.T) {
	docs := []string{
		"",
		`null`,
		`{"name":"payments","scopes":["s3:read","sqs:send"],"labels":{"z":"1","a":"2"},"version":3,"created_at":"2026-01-02T03:04:05Z"}`,
		`{ "b" : 1 , "a" : [ 1.50, -0, 1e3, 12345678901234567890, 0.0000001, true, false, null ] }`,
		`{"\u00e9":1,"e":2,"\ud83d\ude00":3,"\uffff":4,"<>&":"\u003chtml\u003e \u2028 \n\t\u0001"}`,
		`{"nested":{"z":{"y":1,"x":2},"a":[{"d":1,"c":2}]},"a":{}}`,
		`[]`, `"just a string"`, `-12.5e-3`, `{"dup":1,"dup":2}`, `{"bad":}`, `{"raw":"caf` + "\xe9" + `"}`,
		`[01]`, `[1.]`, `[1e]`, `[-]`, `1234567890123456`, `[0.1,1e21,1e-7,-1e400]`, `{"b":{"d":1,"c":2},"a":3}`,
	}
	for _, d := range docs {
		e := sampleEvent(d, d)
		e.Actor = "weird \x01 actor \xff é 😀"
		want, werr := e.ComputeHash()
		got, gerr := EntryHash(e)
		if (werr != nil) != (gerr != nil) || got != want {
			t.Errorf("doc %q: EntryHash = %q, %v; reference %q, %v", d, got, gerr, want, werr)
		}
	}
}

func FuzzEntryHash(f *testing.F) {
	f.Add(`{"a":1,"b":[1,2,{"c":"d"}]}`, "actor")
	f.Add(`{"z":"\u00e9","a":1e400}`, "x\xff")
	f.Add(`[1.0,2.50,-0.0]`, "")
	f.Add(`{"b":1,"a":{"y":[true,false,null],"x":"\t\u0000"}}`, "\x01")
	f.Fuzz(func(t *testing.T, doc, actor string) {
		e := sampleEvent(doc, `{"k":"v"}`)
		e.Actor = actor
		want, werr := e.ComputeHash()
		got, gerr := EntryHash(e)
		if (werr != nil) != (gerr != nil) || got != want {
			t.Fatalf("doc %q actor %q: EntryHash = %q, %v; reference %q, %v", doc, actor, got, gerr, want, werr)
		}
	})
}

func BenchmarkEntryHash(b *testing.B) {
	snap := `{"id":"nhi_01abc","name":"payments-api","kind":"service_account","provider":"aws","scopes":["s3:read","sqs:send"],"labels":{"app":"pay"},"status":"active","created_at":"2026-01-02T03:04:05Z","version":3,"team":"payments","purpose":"charges cards"}`
	e := sampleEvent(snap, snap)
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			EntryHash(e)
		}
	})
	b.Run("reference", func(b *testing.B) {
		for b.Loop() {
			e.ComputeHash()
		}
	})
}
