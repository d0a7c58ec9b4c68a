package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/furl/furl/internal/lambda"
)

func TestFunctionAliasesAndURLs(t *testing.T) {
	ctx := context.Background()
	db := openIdentityDB(t)
	now := time.UnixMilli(1764130000123).UTC()
	aliases := []*lambda.Alias{
		{FunctionName: "f", Name: "live", FunctionVersion: "2", Description: "d", AdditionalVersionWeights: map[string]float64{"1": 0.25}, RevisionID: "r1"},
		{FunctionName: "f", Name: "beta", FunctionVersion: "1", AdditionalVersionWeights: map[string]float64{}, RevisionID: "r2"},
	}
	urls := []*URLRecord{
		{URLConfig: lambda.URLConfig{URLID: "u2", FunctionName: "f", Qualifier: "live", AuthType: lambda.AuthIAM,
			Cors: &lambda.CORS{AllowOrigins: []string{"*"}}, InvokeMode: lambda.InvokeStream, Created: now, LastModified: now, RateLimit: 5, Burst: 10},
			InvokeModeExplicit: true},
		{URLConfig: lambda.URLConfig{URLID: "u1", FunctionName: "f", AuthType: lambda.AuthNone, InvokeMode: lambda.InvokeBuffered, Created: now, LastModified: now}},
	}
	err := db.FunctionsTx(ctx, func(tx *FuncTx) error {
		for _, name := range []string{"f", "g"} {
			if err := tx.PutFunction(&FunctionRecord{Name: name, Created: now}); err != nil {
				return err
			}
		}
		for _, a := range aliases {
			if err := tx.PutAlias(a); err != nil {
				return err
			}
		}
		for _, u := range urls {
			if err := tx.PutURL(u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.FunctionsReadTx(ctx, func(tx *FuncTx) error {
		gotAliases, err := tx.Aliases("f")
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]*lambda.Alias{aliases[1], aliases[0]}, gotAliases); diff != "" {
			t.Errorf("Aliases (-want +got):\n%s", diff)
		}
		a, err := tx.Alias("f", "live")
		if err != nil {
			return err
		}
		if diff := cmp.Diff(aliases[0], a); diff != "" {
			t.Errorf("Alias (-want +got):\n%s", diff)
		}
		if _, err := tx.Alias("f", "nope"); err != ErrNotFound {
			t.Errorf("missing alias: %v", err)
		}
		if got, err := tx.Aliases("g"); err != nil || got == nil || len(got) != 0 {
			t.Errorf("Aliases(g) = %#v, %v; want empty, not nil", got, err)
		}
		gotURLs, err := tx.URLs("f")
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]*URLRecord{urls[1], urls[0]}, gotURLs); diff != "" {
			t.Errorf("URLs (-want +got):\n%s", diff)
		}
		u, err := tx.URLByID("u2")
		if err != nil {
			return err
		}
		if diff := cmp.Diff(urls[0], u); diff != "" {
			t.Errorf("URLByID (-want +got):\n%s", diff)
		}
		if _, err := tx.URL("g", ""); err != ErrNotFound {
			t.Errorf("missing url: %v", err)
		}
		if got, err := tx.URLs("g"); err != nil || got != nil {
			t.Errorf("URLs(g) = %#v, %v; want nil", got, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestFunctionVersionsAndAsyncQueue(t *testing.T) {
	ctx := context.Background()
	db := openIdentityDB(t)
	now := time.UnixMilli(1764130000123).UTC()
	versions := []*lambda.FunctionConfig{
		{Name: "f", Version: "10", Runtime: "provided.al2023", MemoryMB: 128, RevisionID: "r10"},
		{Name: "f", Version: lambda.LatestVersion, Runtime: "provided.al2023", MemoryMB: 256, RevisionID: "rl"},
		{Name: "f", Version: "2", Runtime: "provided.al2023", MemoryMB: 128, RevisionID: "r2"},
	}
	queued := []*AsyncInvocation{
		{ID: "late", FunctionName: "f", Payload: []byte("{}"), Next: now.Add(time.Minute), Created: now},
		{ID: "b", FunctionName: "f", Qualifier: "live", Payload: []byte(`{"b":1}`), ClientContext: "cc", Attempts: 1, Next: now, Created: now},
		{ID: "a", FunctionName: "f", Payload: []byte(`{"a":1}`), Next: now.Add(-time.Second), Created: now},
	}
	err := db.FunctionsTx(ctx, func(tx *FuncTx) error {
		if err := tx.PutFunction(&FunctionRecord{Name: "f", Created: now}); err != nil {
			return err
		}
		for _, c := range versions {
			if err := tx.PutVersion(c, "hex"); err != nil {
				return err
			}
		}
		for _, a := range queued {
			if err := tx.EnqueueAsync(a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.FunctionsReadTx(ctx, func(tx *FuncTx) error {
		got, err := tx.Versions("f")
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]*lambda.FunctionConfig{versions[1], versions[2], versions[0]}, got); diff != "" {
			t.Errorf("Versions (-want +got):\n%s", diff)
		}
		due, err := tx.DueAsync(now, 10)
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]*AsyncInvocation{queued[2], queued[1]}, due); diff != "" {
			t.Errorf("DueAsync (-want +got):\n%s", diff)
		}
		if due, err := tx.DueAsync(now, 1); err != nil || len(due) != 1 || due[0].ID != "a" {
			t.Errorf("DueAsync limit 1 = %v, %v", due, err)
		}
		if got, err := tx.Versions("nope"); err != nil || got != nil {
			t.Errorf("Versions(nope) = %v, %v", got, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReservedSumAndCodeUsage(t *testing.T) {
	ctx := context.Background()
	db := openIdentityDB(t)
	now := time.UnixMilli(1764130000123).UTC()
	five, seven := 5, 7
	err := db.FunctionsTx(ctx, func(tx *FuncTx) error {
		for _, f := range []*FunctionRecord{{Name: "a", Created: now, ReservedConcurrency: &five}, {Name: "b", Created: now, ReservedConcurrency: &seven}, {Name: "c", Created: now}} {
			if err := tx.PutFunction(f); err != nil {
				return err
			}
			for _, v := range []string{lambda.LatestVersion, "1"} {
				if err := tx.PutVersion(&lambda.FunctionConfig{Name: f.Name, Version: v, CodeSize: 100, RevisionID: "r"}, "h"); err != nil {
					return err
				}
			}
		}
		for except, want := range map[string]int{"": 12, "a": 7, "b": 5, "c": 12} {
			if got, err := tx.ReservedSum(except); err != nil || got != want {
				t.Errorf("ReservedSum(%q) = %d, %v; want %d", except, got, err, want)
			}
		}
		total, n, err := tx.CodeUsage()
		if err != nil || total != 600 || n != 3 {
			t.Errorf("CodeUsage = %d, %d, %v; want 600, 3", total, n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestEphemeralStorageMigration: a version stored before EphemeralStorage existed reads back
// with the 512 MB /tmp it had; a stored size is kept.
func TestEphemeralStorageMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "furl.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	err = db.FunctionsTx(ctx, func(tx *FuncTx) error {
		if err := tx.PutFunction(&FunctionRecord{Name: "f", Created: time.Now()}); err != nil {
			return err
		}
		if err := tx.PutVersion(&lambda.FunctionConfig{Name: "f", Version: "1", MemoryMB: 128}, "aa"); err != nil {
			return err
		}
		return tx.PutVersion(&lambda.FunctionConfig{Name: "f", Version: lambda.LatestVersion, MemoryMB: 128, EphemeralStorageMB: 2048}, "aa")
	})
	if err != nil {
		t.Fatal(err)
	}
	// Undo the migration's mark, as in a database of the old schema.
	if _, err := db.SQL().ExecContext(ctx, `DELETE FROM schema_migrations WHERE domain = 'functions' AND version = 2`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.FunctionsReadTx(ctx, func(tx *FuncTx) error {
		for version, want := range map[string]int{"1": 512, lambda.LatestVersion: 2048} {
			c, err := tx.Version("f", version)
			if err != nil {
				return err
			}
			if c.EphemeralStorageMB != want {
				t.Errorf("version %s: EphemeralStorageMB = %d, want %d", version, c.EphemeralStorageMB, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
