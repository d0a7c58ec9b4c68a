package iam

import (
	"strings"
	"unicode/utf8"
)

type tokKind uint8

const (
	tLit  tokKind = iota // literal text
	tStar                // '*': any run of characters
	tOne                 // '?': one character
	tVar                 // ${key} or ${key, 'default'}: a policy variable
)

type tok struct {
	kind   tokKind
	s      string // literal text, or the variable's key
	def    string // default value of a variable
	hasDef bool
}

// pattern is a compiled glob (and/or policy-variable template).
type pattern struct {
	src     string
	toks    []tok
	any     bool // the pattern is exactly "*"
	literal bool // no wildcard, no variable: compare src directly
	hasVar  bool
	glob    bool // has '*' or '?'
	// prefix is set when the pattern is "literal*" (the common "lambda:Get*" shape).
	prefix   string
	isPrefix bool
}

// compilePattern compiles s. With vars, ${key} and ${key, 'default'} are policy variables and
// ${*}, ${?}, ${$} are the literal characters.
func compilePattern(s string, vars bool) pattern {
	p := pattern{src: s}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p.toks = append(p.toks, tok{kind: tLit, s: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '*':
			flush()
			p.toks = append(p.toks, tok{kind: tStar})
			p.glob = true
		case c == '?':
			flush()
			p.toks = append(p.toks, tok{kind: tOne})
			p.glob = true
		case vars && c == '$' && i+1 < len(s) && s[i+1] == '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				lit.WriteByte(c)
				continue
			}
			body := strings.TrimSpace(s[i+2 : i+2+end])
			i += 2 + end
			switch body {
			case "*", "?", "$":
				lit.WriteString(body)
				continue
			}
			t := tok{kind: tVar, s: body}
			if k, d, ok := strings.Cut(body, ","); ok {
				d = strings.TrimSpace(d)
				if len(d) >= 2 && d[0] == '\'' && d[len(d)-1] == '\'' {
					t.s, t.def, t.hasDef = strings.TrimSpace(k), d[1:len(d)-1], true
				}
			}
			flush()
			p.toks = append(p.toks, t)
			p.hasVar = true
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	p.any = len(p.toks) == 1 && p.toks[0].kind == tStar
	if len(p.toks) == 2 && p.toks[0].kind == tLit && p.toks[1].kind == tStar {
		p.prefix, p.isPrefix = p.toks[0].s, true
	}
	p.literal = !p.glob && !p.hasVar
	if p.literal && len(p.toks) == 1 {
		p.src = p.toks[0].s // ${*} style escapes resolved
	} else if p.literal && len(p.toks) == 0 {
		p.src = ""
	}
	return p
}

// resolve substitutes the variables; ok is false when a variable has no value and no default.
func (p *pattern) resolve(c *evalCtx) ([]tok, bool) {
	out := make([]tok, 0, len(p.toks))
	for _, t := range p.toks {
		if t.kind != tVar {
			out = append(out, t)
			continue
		}
		v, ok := c.variable(t.s)
		if !ok {
			if !t.hasDef {
				return nil, false
			}
			v = t.def
		}
		out = append(out, tok{kind: tLit, s: v})
	}
	return out, true
}

// match reports whether s matches the pattern as a glob ('*', '?').
func (p *pattern) match(s string, c *evalCtx) bool {
	if p.any {
		return true
	}
	if p.literal {
		return s == p.src
	}
	if p.isPrefix {
		return strings.HasPrefix(s, p.prefix)
	}
	toks := p.toks
	if p.hasVar {
		var ok bool
		if toks, ok = p.resolve(c); !ok {
			return false
		}
	}
	return globMatch(toks, s)
}

// text returns the pattern with its variables substituted, without glob meaning (for the
// exact-comparison operators).
func (p *pattern) text(c *evalCtx) (string, bool) {
	if p.literal {
		return p.src, true
	}
	toks := p.toks
	if p.hasVar {
		var ok bool
		if toks, ok = p.resolve(c); !ok {
			return "", false
		}
	}
	var b strings.Builder
	for _, t := range toks {
		switch t.kind {
		case tStar:
			b.WriteByte('*')
		case tOne:
			b.WriteByte('?')
		default:
			b.WriteString(t.s)
		}
	}
	return b.String(), true
}

// globMatch matches s against literal, '*' and '?' tokens, backtracking to the last star only
// (linear in practice, never exponential).
func globMatch(toks []tok, s string) bool {
	ti, si := 0, 0
	starTi, starSi := -1, 0
	for {
		if ti < len(toks) {
			t := toks[ti]
			switch t.kind {
			case tStar:
				starTi, starSi = ti, si
				ti++
				continue
			case tOne:
				if si < len(s) {
					_, n := utf8.DecodeRuneInString(s[si:])
					si += n
					ti++
					continue
				}
			default:
				if strings.HasPrefix(s[si:], t.s) {
					si += len(t.s)
					ti++
					continue
				}
			}
		} else if si == len(s) {
			return true
		}
		if starTi < 0 || starSi >= len(s) {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[starSi:])
		starSi += n
		si, ti = starSi, starTi+1
	}
}

// arnPattern is a Resource/ArnLike value: six colon-separated parts matched one by one (the
// last part's wildcards span ':' and '/'), or a whole-string glob when it is not an ARN.
type arnPattern struct {
	whole pattern
	parts [6]pattern
	isARN bool
}

func compileARN(s string, vars bool) arnPattern {
	a := arnPattern{whole: compilePattern(s, vars)}
	if a.whole.any {
		return a
	}
	ps := strings.SplitN(s, ":", 6)
	if len(ps) == 6 {
		a.isARN = true
		for i, p := range ps {
			a.parts[i] = compilePattern(p, vars)
		}
	}
	return a
}

// splitARN splits s into six parts without allocating; ok is false when s has fewer.
func splitARN(s string) (parts [6]string, ok bool) {
	for i := 0; i < 5; i++ {
		j := strings.IndexByte(s, ':')
		if j < 0 {
			return parts, false
		}
		parts[i], s = s[:j], s[j+1:]
	}
	parts[5] = s
	return parts, true
}

func (a *arnPattern) match(s string, c *evalCtx) bool {
	if a.whole.any {
		return true
	}
	if !a.isARN {
		return a.whole.match(s, c)
	}
	parts, ok := splitARN(s)
	return a.matchParts(&parts, ok, c)
}

// matchParts is match with the subject already split by splitARN.
func (a *arnPattern) matchParts(parts *[6]string, ok bool, c *evalCtx) bool {
	if !ok {
		return false
	}
	for i := range parts {
		if !a.parts[i].match(parts[i], c) {
			return false
		}
	}
	return true
}
