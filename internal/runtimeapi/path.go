package runtimeapi

import (
	"net/url"
	"strings"
)

// Route is a Runtime API endpoint recognised by ParsePath.
type Route int

// The routes of the Runtime API (2018-06-01), the Extensions API (2020-01-01) and the stubbed
// Telemetry/Logs APIs.
const (
	RouteUnknown Route = iota
	RouteNext
	RouteResponse
	RouteError
	RouteInitError
	RoutePing
	RouteExtRegister
	RouteExtNext
	RouteExtInitError
	RouteExtExitError
	RouteTelemetry
	RouteLogs
)

const (
	invocationPrefix = "/2018-06-01/runtime/invocation/"
	maxRequestIDLen  = 256
)

// ParsePath maps an escaped request path to its route and, for the per-invocation routes, the
// request id (unescaped; the Node RIC URL-encodes it). Matching is exact and case-sensitive.
func ParsePath(escapedPath string) (Route, string) {
	switch escapedPath {
	case "/2018-06-01/runtime/invocation/next":
		return RouteNext, ""
	case "/2018-06-01/runtime/init/error":
		return RouteInitError, ""
	case "/2018-06-01/ping":
		return RoutePing, ""
	case "/2020-01-01/extension/register":
		return RouteExtRegister, ""
	case "/2020-01-01/extension/event/next":
		return RouteExtNext, ""
	case "/2020-01-01/extension/init/error":
		return RouteExtInitError, ""
	case "/2020-01-01/extension/exit/error":
		return RouteExtExitError, ""
	case "/2022-07-01/telemetry":
		return RouteTelemetry, ""
	case "/2020-08-15/logs":
		return RouteLogs, ""
	}
	rest, ok := strings.CutPrefix(escapedPath, invocationPrefix)
	if !ok {
		return RouteUnknown, ""
	}
	i := strings.IndexByte(rest, '/')
	if i <= 0 {
		return RouteUnknown, ""
	}
	var route Route
	switch rest[i+1:] {
	case "response":
		route = RouteResponse
	case "error":
		route = RouteError
	default:
		return RouteUnknown, ""
	}
	raw := rest[:i]
	if len(raw) > 3*maxRequestIDLen {
		return RouteUnknown, ""
	}
	id := raw
	if strings.IndexByte(raw, '%') >= 0 {
		var err error
		if id, err = url.PathUnescape(raw); err != nil {
			return RouteUnknown, ""
		}
	}
	if id == "" || len(id) > maxRequestIDLen {
		return RouteUnknown, ""
	}
	return route, id
}
