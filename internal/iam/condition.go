package iam

import (
	"encoding/json"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

type baseOp uint8

const (
	opStringEquals baseOp = iota
	opStringEqualsIgnoreCase
	opStringLike
	opArnLike
	opNumEq
	opNumLt
	opNumLe
	opNumGt
	opNumGe
	opDateEq
	opDateLt
	opDateLe
	opDateGt
	opDateGe
	opBool
	opBinary
	opIP
	opNull
)

type setQual uint8

const (
	setNone setQual = iota
	setAny          // ForAnyValue:
	setAll          // ForAllValues:
)

// operators maps an operator name (without set prefix and IfExists) to its base and negation.
func lookupOperator(name string) (baseOp, bool, bool) {
	switch name {
	case "StringEquals":
		return opStringEquals, false, true
	case "StringNotEquals":
		return opStringEquals, true, true
	case "StringEqualsIgnoreCase":
		return opStringEqualsIgnoreCase, false, true
	case "StringNotEqualsIgnoreCase":
		return opStringEqualsIgnoreCase, true, true
	case "StringLike":
		return opStringLike, false, true
	case "StringNotLike":
		return opStringLike, true, true
	case "ArnEquals", "ArnLike":
		return opArnLike, false, true
	case "ArnNotEquals", "ArnNotLike":
		return opArnLike, true, true
	case "NumericEquals":
		return opNumEq, false, true
	case "NumericNotEquals":
		return opNumEq, true, true
	case "NumericLessThan":
		return opNumLt, false, true
	case "NumericLessThanEquals":
		return opNumLe, false, true
	case "NumericGreaterThan":
		return opNumGt, false, true
	case "NumericGreaterThanEquals":
		return opNumGe, false, true
	case "DateEquals":
		return opDateEq, false, true
	case "DateNotEquals":
		return opDateEq, true, true
	case "DateLessThan":
		return opDateLt, false, true
	case "DateLessThanEquals":
		return opDateLe, false, true
	case "DateGreaterThan":
		return opDateGt, false, true
	case "DateGreaterThanEquals":
		return opDateGe, false, true
	case "Bool":
		return opBool, false, true
	case "BinaryEquals":
		return opBinary, false, true
	case "IpAddress":
		return opIP, false, true
	case "NotIpAddress":
		return opIP, true, true
	case "Null":
		return opNull, false, true
	}
	return 0, false, false
}

// Condition is one (operator, key, values) triple of a Condition block. All conditions of a
// statement must hold.
type Condition struct {
	// Operator as written, e.g. "ForAnyValue:StringLikeIfExists".
	Operator string
	Key      string
	Values   []string

	op       baseOp
	negate   bool
	ifExists bool
	set      setQual
	pats     []pattern
	arns     []arnPattern
	nums     []float64
	times    []time.Time
	prefixes []netip.Prefix
	bools    []bool
}

func parseConditions(v any, where string, vars bool) ([]Condition, error) {
	block, ok := v.(map[string]any)
	if !ok {
		return nil, perr(where, "Condition must be an object, got %s", show(v))
	}
	var out []Condition
	for opName, keysV := range block {
		w := where + "." + opName
		name := opName
		c := Condition{Operator: opName}
		if rest, ok := strings.CutPrefix(name, "ForAnyValue:"); ok {
			c.set, name = setAny, rest
		} else if rest, ok := strings.CutPrefix(name, "ForAllValues:"); ok {
			c.set, name = setAll, rest
		}
		if rest, ok := strings.CutSuffix(name, "IfExists"); ok && rest != "Null" {
			c.ifExists, name = true, rest
		}
		op, neg, ok := lookupOperator(name)
		if !ok {
			return nil, perr(w, "Invalid Condition type : %s", opName)
		}
		c.op, c.negate = op, neg
		keys, ok := keysV.(map[string]any)
		if !ok {
			return nil, perr(w, "a condition operator must map keys to values, got %s", show(keysV))
		}
		if len(keys) == 0 {
			return nil, perr(w, "a condition operator needs at least one key")
		}
		for key, valsV := range keys {
			kw := w + "." + key
			if !strings.Contains(key, ":") {
				return nil, perr(kw, "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.: condition key %q", key)
			}
			vals, err := conditionValues(valsV, kw)
			if err != nil {
				return nil, err
			}
			cc := c
			cc.Key, cc.Values = key, vals
			if err := cc.compile(kw, vars); err != nil {
				return nil, err
			}
			out = append(out, cc)
		}
	}
	slices.SortFunc(out, func(a, b Condition) int {
		if c := strings.Compare(a.Operator, b.Operator); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out, nil
}

// conditionValues normalises a string, number, bool or an array of those to strings.
func conditionValues(v any, where string) ([]string, error) {
	one := func(e any) (string, error) {
		switch t := e.(type) {
		case string:
			return t, nil
		case json.Number:
			return t.String(), nil
		case bool:
			return strconv.FormatBool(t), nil
		}
		return "", perr(where, "a condition value must be a string, number or boolean, got %s", show(e))
	}
	if arr, ok := v.([]any); ok {
		if len(arr) == 0 {
			return nil, perr(where, "a condition needs at least one value")
		}
		out := make([]string, 0, len(arr))
		for _, e := range arr {
			s, err := one(e)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := one(v)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

func (c *Condition) compile(where string, vars bool) error {
	for _, v := range c.Values {
		switch c.op {
		case opStringEquals, opStringEqualsIgnoreCase, opStringLike, opBinary:
			c.pats = append(c.pats, compilePattern(v, vars && c.op != opBinary))
		case opArnLike:
			c.arns = append(c.arns, compileARN(v, vars))
		case opNumEq, opNumLt, opNumLe, opNumGt, opNumGe:
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(f) {
				return perr(where, "invalid number %q for %s", v, c.Operator)
			}
			c.nums = append(c.nums, f)
		case opDateEq, opDateLt, opDateLe, opDateGt, opDateGe:
			t, ok := parseDate(v)
			if !ok {
				return perr(where, "invalid date %q for %s (ISO 8601 or epoch seconds)", v, c.Operator)
			}
			c.times = append(c.times, t)
		case opBool, opNull:
			switch strings.ToLower(v) {
			case "true":
				c.bools = append(c.bools, true)
			case "false":
				c.bools = append(c.bools, false)
			default:
				return perr(where, "invalid boolean %q for %s", v, c.Operator)
			}
		case opIP:
			p, ok := parseCIDR(v)
			if !ok {
				return perr(where, "invalid IP address or CIDR %q for %s", v, c.Operator)
			}
			c.prefixes = append(c.prefixes, p)
		}
	}
	return nil
}

func parseCIDR(s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), true
}

// parseDate accepts ISO 8601 (several common forms) or epoch seconds.
func parseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) && math.Abs(f) < 1e15 {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
	}
	layouts := [...]string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05Z0700",
		"2006-01-02T15:04Z07:00",
		"2006-01-02T15:04Z",
		"2006-01-02T15:04:05",
		"20060102T150405Z",
		"2006-01-02",
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// eval applies the condition to the request context.
func (c *Condition) eval(ec *evalCtx) bool {
	vals, present := ec.lookup(c.Key)
	if len(vals) == 0 {
		present = false
	}
	if c.op == opNull {
		// "true": the key must be absent; "false": present. Several values are ORed.
		for _, b := range c.bools {
			if b == !present {
				return true
			}
		}
		return false
	}
	if !present {
		if c.ifExists {
			return true
		}
		switch c.set {
		case setAll:
			return true
		case setAny:
			return false
		}
		return c.negate
	}
	switch c.set {
	case setAny:
		for _, v := range vals {
			if c.matchAny(v, ec) != c.negate {
				return true
			}
		}
		return false
	case setAll:
		for _, v := range vals {
			if c.matchAny(v, ec) == c.negate {
				return false
			}
		}
		return true
	}
	if c.negate {
		for _, v := range vals {
			if c.matchAny(v, ec) {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if c.matchAny(v, ec) {
			return true
		}
	}
	return false
}

// matchAny reports whether the request value v matches any policy value under the positive
// form of the operator.
func (c *Condition) matchAny(v string, ec *evalCtx) bool {
	switch c.op {
	case opStringEquals, opBinary:
		for i := range c.pats {
			if t, ok := c.pats[i].text(ec); ok && t == v {
				return true
			}
		}
	case opStringEqualsIgnoreCase:
		for i := range c.pats {
			if t, ok := c.pats[i].text(ec); ok && strings.EqualFold(t, v) {
				return true
			}
		}
	case opStringLike:
		for i := range c.pats {
			if c.pats[i].match(v, ec) {
				return true
			}
		}
	case opArnLike:
		for i := range c.arns {
			if c.arns[i].match(v, ec) {
				return true
			}
		}
	case opNumEq, opNumLt, opNumLe, opNumGt, opNumGe:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) {
			return false
		}
		for _, n := range c.nums {
			if cmpOK(c.op-opNumEq, compareFloat(f, n)) {
				return true
			}
		}
	case opDateEq, opDateLt, opDateLe, opDateGt, opDateGe:
		t, ok := parseDate(v)
		if !ok {
			return false
		}
		for _, p := range c.times {
			if cmpOK(c.op-opDateEq, t.Compare(p)) {
				return true
			}
		}
	case opBool:
		var b bool
		switch {
		case strings.EqualFold(v, "true"):
			b = true
		case strings.EqualFold(v, "false"):
		default:
			return false
		}
		return slices.Contains(c.bools, b)
	case opIP:
		a, err := netip.ParseAddr(strings.TrimSpace(v))
		if err != nil {
			return false
		}
		a = a.Unmap().WithZone("")
		for _, p := range c.prefixes {
			if p.Contains(a) {
				return true
			}
		}
	}
	return false
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpOK applies a relative comparison (0 eq, 1 lt, 2 le, 3 gt, 4 ge) to a three-way result.
func cmpOK(rel baseOp, c int) bool {
	switch rel {
	case 0:
		return c == 0
	case 1:
		return c < 0
	case 2:
		return c <= 0
	case 3:
		return c > 0
	case 4:
		return c >= 0
	}
	return false
}
