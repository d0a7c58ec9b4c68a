package functions

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestLayers(t *testing.T) {
	s := newTestService(t)
	ctx := context.Background()
	publish := func(name string, files map[string]string) *LayerVersion {
		t.Helper()
		in := &PublishLayerInput{CompatibleRuntimes: []string{"python3.12"}}
		in.Content.ZipFile = zipOf(t, files)
		lv, err := s.PublishLayerVersion(ctx, name, in)
		if err != nil {
			t.Fatal(err)
		}
		return lv
	}
	a1 := publish("a", map[string]string{"python/a.py": "A = 1\n"})
	a2 := publish("a", map[string]string{"python/a.py": "A = 2\n"})
	b1 := publish("b", map[string]string{"python/b.py": "B = 1\n"})
	if a1.Version != 1 || a2.Version != 2 || b1.Version != 1 {
		t.Fatalf("versions %d %d %d", a1.Version, a2.Version, b1.Version)
	}
	arn := func(l *LayerVersion) string { return s.LayerARN(l.Name, l.Version) }
	create := func(name string, layers ...string) error {
		_, err := s.CreateFunction(ctx, &CreateInput{FunctionName: name, Runtime: "python3.12", Handler: "app.handler",
			Role: "arn:aws:iam::000000000000:role/r", Code: CodeInput{ZipFile: mustZip(t)}, Layers: layers})
		return err
	}
	wantErr := func(what string, err error, kind Kind, msg string) {
		t.Helper()
		var fe *Error
		if !errors.As(err, &fe) || fe.Kind != kind || !strings.Contains(fe.Message, msg) {
			t.Errorf("%s: err = %v, want %s containing %q", what, err, kind, msg)
		}
	}
	if err := create("f", arn(b1), arn(a2)); err != nil {
		t.Fatal(err)
	}
	inv, err := s.Resolve(ctx, Ref{Name: "f"})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Target.Layers) != 2 || inv.Target.Layers[0] != s.code.Dir(b1.CodeHex) || inv.Target.Layers[1] != s.code.Dir(a2.CodeHex) {
		t.Fatalf("target layers %q", inv.Target.Layers)
	}
	six := []string{arn(a1)}
	for range 5 {
		six = append(six, arn(publish("l"+itoa(len(six)), map[string]string{"x": "y"})))
	}
	wantErr("six layers", create("g", six...), KindInvalidParameter, "more than 5 layers")
	wantErr("same layer twice", create("g", arn(a1), arn(a2)), KindInvalidParameter, "same layer")
	wantErr("missing version", create("g", s.LayerARN("a", 9)), KindInvalidParameter, "does not exist")
	wantErr("other region", create("g", "arn:aws:lambda:eu-west-1:000000000000:layer:a:1"), KindInvalidParameter, "same region")
	wantErr("bad ARN", create("g", "nope"), KindValidation, "layers")

	// 250 MB with the function: a layer whose files add up past it is refused.
	lv := publish("big", map[string]string{"x": "y"})
	if _, err := s.db.SQL().ExecContext(ctx, `UPDATE layer_versions SET doc = json_set(doc, '$.Unzipped', 262144000) WHERE name = 'big'`); err != nil {
		t.Fatal(err)
	}
	wantErr("too big", create("g", arn(lv)), KindInvalidParameter, "exceeds the maximum allowed size of 262144000 bytes")

	// A deleted layer version stays with the functions that use it.
	if err := s.DeleteLayerVersion(ctx, "a", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetLayerVersion(ctx, "a", 2); KindOf(err) != KindNotFound {
		t.Fatalf("deleted version: %v", err)
	}
	if _, err := s.Resolve(ctx, Ref{Name: "f"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.code.Read(a2.CodeHex); err != nil {
		t.Fatalf("a deleted layer version's package in use went with the sweep: %v", err)
	}
	// The next version of a layer never reuses a number.
	if a3 := publish("a", map[string]string{"python/a.py": "A = 3\n"}); a3.Version != 3 {
		t.Fatalf("next version %d", a3.Version)
	}
	// Removing the layers.
	empty := []string{}
	cfg, err := s.UpdateFunctionConfiguration(ctx, Ref{Name: "f"}, &UpdateConfigInput{Layers: &empty})
	if err != nil || len(cfg.Layers) != 0 {
		t.Fatalf("remove layers: %v, %v", cfg, err)
	}
}

func FuzzParseLayerName(f *testing.F) {
	s := New(nil, nil, Options{Region: "us-east-1", AccountID: "000000000000"}, nil)
	for _, seed := range []string{"lib", "arn:aws:lambda:us-east-1:000000000000:layer:lib", "arn:aws:lambda:us-east-1:000000000000:layer:lib:3", "", "a:b"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if name, err := s.ParseLayerName(raw); err == nil && (name == "" || len(name) > 140 || strings.ContainsAny(name, ":/")) {
			t.Fatalf("ParseLayerName(%q) = %q", raw, name)
		}
		if name, v, err := s.parseLayerARN(raw, "layers"); err == nil && (name == "" || v < 0) {
			t.Fatalf("parseLayerARN(%q) = %q, %d", raw, name, v)
		}
		_, _ = ParseLayerVersion(raw)
	})
}
