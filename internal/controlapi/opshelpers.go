package controlapi

import (
	"encoding/json"
	"net/http"

	"github.com/furl/furl/internal/awserr"
)

// Steps the REST operations share.

// reply returns the answer to a service call: its error, or status with conv of its result.
// Use it as reply(c, status, conv)(h.svc.Operation(…)).
func reply[T, O any](c *call, status int, conv func(T) O) func(T, error) error {
	return func(v T, err error) error {
		if err != nil {
			return err
		}
		return writeJSON(c, status, conv(v))
	}
}

// noContent answers 204 once the service call that returned err succeeded.
func noContent(c *call, err error) error {
	if err != nil {
		return err
	}
	return writeEmpty(c, http.StatusNoContent)
}

// withBody parses the function reference with parse, then decodes the body into in.
func withBody[R any](c *call, parse func(*call) (R, error), in any) (R, error) {
	r, err := parse(c)
	if err != nil {
		return r, err
	}
	if err := decode(c.body, in); err != nil {
		var zero R
		return zero, err
	}
	return r, nil
}

// writePage reads MaxItems (pages hold 50 at most), lists the page at Marker with list and
// answers {"<key>":[conv of each entry],"NextMarker":…}, NextMarker only when another page
// follows and the list [] when empty.
func writePage[T, O any](c *call, key string, list func(marker string, max int) ([]T, string, error), conv func(T) O) error {
	max, err := maxItems(c, 50)
	if err != nil {
		return err
	}
	entries, next, err := list(c.query("Marker"), max)
	if err != nil {
		return err
	}
	items := make([]O, 0, len(entries))
	for _, e := range entries {
		items = append(items, conv(e))
	}
	b, err := json.Marshal(items)
	if err != nil {
		return awserr.Internal(err)
	}
	out := append([]byte(`{"`+key+`":`), b...)
	if next != "" {
		m, err := json.Marshal(next)
		if err != nil {
			return awserr.Internal(err)
		}
		out = append(append(out, `,"NextMarker":`...), m...)
	}
	return writeJSON(c, http.StatusOK, json.RawMessage(append(out, '}')))
}
