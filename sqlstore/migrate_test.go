package sqlstore

import (
	"io/fs"
	"path"
	"strings"
	"testing"
	"testing/fstest"
)

// appliedChecksums are the checksums that deployed databases hold in
// schema_migrations for each engine's migrations. The runner refuses to
// start on a database whose applied migration changed, so these must never
// change: a schema change is a new migration.
var appliedChecksums = map[Engine]map[int]string{
	SQLite: {
		1:  "7c3907997a414b7d1abef7bec990ee903329a7d65ab8c47b2d57c490850de10a",
		2:  "ef43b7a1ac4bf1761992b1de0c494a802d28a78b5b856870b1b1dc8564f5756d",
		3:  "191dd42ca5436b9eaa6ce6aa33f86c4fc21d6bc0fd3158c52a45e3fb4ae27744",
		4:  "40d20142e134190a8fdd93a4f192e8a87c16dc0a98ee897a0736c7b5615a19c1",
		5:  "ef4d9f163271e663d016d1e0f2eef10359b6c5458626559ab5644ffea5206027",
		6:  "77fb2cefa204943a9f627c9cd2f2882d54ab4af1debf9cdb7387be956d73e648",
		7:  "94f6b3571a98ba01642b5ad56c0d42c6970694cab331e2aa21940eefec18466e",
		8:  "cc44a610e5555381282d38e3aaf8ed760d26768e45cc7a0c86c7934ee4afc8c0",
		9:  "d54a197091c6d81f4acab73d0e5507f7d39de7bbf429c8ed7b2f3cd7472509ab",
		10: "dc3bdcf3833cfe8720adb724bb1e60b178644aab21f337aec95539288c589713",
		11: "8cbfc0ec759195f18123ca1b8c591eb3a082b110e657c65ab4227b9fabb6f43b",
	},
	Postgres: {
		1:  "fd4d8ead3af9df679ffc91f9955689c339fd7647f5d25cccfbac9310015af0cd",
		2:  "ef43b7a1ac4bf1761992b1de0c494a802d28a78b5b856870b1b1dc8564f5756d",
		3:  "191dd42ca5436b9eaa6ce6aa33f86c4fc21d6bc0fd3158c52a45e3fb4ae27744",
		4:  "5d5255802cca0b89b0079952cbdc6ecaf17e16aff55bdc9682052c8d05b3f4be",
		5:  "ef4d9f163271e663d016d1e0f2eef10359b6c5458626559ab5644ffea5206027",
		6:  "77fb2cefa204943a9f627c9cd2f2882d54ab4af1debf9cdb7387be956d73e648",
		7:  "94f6b3571a98ba01642b5ad56c0d42c6970694cab331e2aa21940eefec18466e",
		8:  "cc44a610e5555381282d38e3aaf8ed760d26768e45cc7a0c86c7934ee4afc8c0",
		9:  "db2ec4738d94917ace729771efdf39fc4530aceae9eb0c57fc7b92901f4c7553",
		10: "dc3bdcf3833cfe8720adb724bb1e60b178644aab21f337aec95539288c589713",
		11: "8cbfc0ec759195f18123ca1b8c591eb3a082b110e657c65ab4227b9fabb6f43b",
	},
}

func loadAll(t *testing.T, e Engine) map[int]migration {
	t.Helper()
	ms, err := loadMigrations(migrations, e)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]migration{}
	for _, m := range ms {
		out[m.version] = m
	}
	return out
}

func TestAppliedMigrationsKeepTheirChecksums(t *testing.T) {
	for e, sums := range appliedChecksums {
		ms := loadAll(t, e)
		for v, want := range sums {
			m, ok := ms[v]
			if !ok {
				t.Errorf("%s: migration %d is gone", e, v)
				continue
			}
			if m.checksum != want {
				t.Errorf("%s: migration %s has checksum %s, deployed databases hold %s", e, m.name, m.checksum, want)
			}
		}
	}
}

func TestEnginesListTheSameMigrations(t *testing.T) {
	lite, pg := loadAll(t, SQLite), loadAll(t, Postgres)
	for v, m := range lite {
		if p, ok := pg[v]; !ok {
			t.Errorf("migration %s has no PostgreSQL version", m.name)
		} else if p.name != m.name {
			t.Errorf("migration %d is %s on SQLite but %s on PostgreSQL", v, m.name, p.name)
		}
	}
	for v, m := range pg {
		if _, ok := lite[v]; !ok {
			t.Errorf("migration %s has no SQLite version", m.name)
		}
	}
	for v := 1; v <= len(lite); v++ {
		if _, ok := lite[v]; !ok {
			t.Errorf("migration %d is missing: versions must run 1, 2, 3… without gaps", v)
		}
	}
}

// TestNoMigrationIsCopiedBetweenEngines keeps migrations that are the same
// on both engines in migrations/common, written once.
func TestNoMigrationIsCopiedBetweenEngines(t *testing.T) {
	lite, err := fs.ReadDir(migrations, "migrations/"+string(SQLite))
	if err != nil {
		t.Fatal(err)
	}
	for _, ent := range lite {
		a, _ := fs.ReadFile(migrations, path.Join("migrations", string(SQLite), ent.Name()))
		b, err := fs.ReadFile(migrations, path.Join("migrations", string(Postgres), ent.Name()))
		if err == nil && string(a) == string(b) {
			t.Errorf("%s is the same on both engines: move it to %s", ent.Name(), commonMigrations)
		}
	}
}

func TestLoadRefusesUnknownNamesAndTwoFilesOfOneVersion(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files fstest.MapFS
		want  string
	}{
		{"an unknown dialect name", fstest.MapFS{
			"migrations/common/0001_a.sql": {Data: []byte("CREATE TABLE a (id {{bigserial}});")},
			"migrations/sqlite/.keep":      {},
		}, "unknown dialect name"},
		{"one version in two folders", fstest.MapFS{
			"migrations/common/0001_a.sql": {Data: []byte("SELECT 1;")},
			"migrations/sqlite/0001_b.sql": {Data: []byte("SELECT 2;")},
		}, "is both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadMigrations(tc.files, SQLite)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("load: %v, want an error saying %q", err, tc.want)
			}
		})
	}
	ms, err := loadMigrations(fstest.MapFS{
		"migrations/common/0001_a.sql":   {Data: []byte("CREATE TABLE a (id {{int_key}} PRIMARY KEY, n {{small_int}});")},
		"migrations/postgres/0002_b.sql": {Data: []byte("SELECT 2;")},
	}, Postgres)
	if err != nil || len(ms) != 2 || ms[0].sql != "CREATE TABLE a (id BIGINT PRIMARY KEY, n SMALLINT);" || ms[1].version != 2 {
		t.Fatalf("load: %v %+v", err, ms)
	}
}
