package functions

import (
	"fmt"
	"regexp"
	"strings"
)

// The optional AddPermission members' constraints, from the Lambda service model.
var (
	sourceArnRE        = regexp.MustCompile(`^arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)$`)
	eventSourceTokenRE = regexp.MustCompile(`^[a-zA-Z0-9._\-]+$`)
	principalOrgIDRE   = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	principalRE        = regexp.MustCompile(`^[^\s]+$`)
)

// maxShownValue bounds how much of a rejected value an error message echoes.
const maxShownValue = 256

// checkPermissionMembers reports every constraint the optional AddPermission members break, as
// the service framework does ("N validation errors detected: ...; ...").
func checkPermissionMembers(in *PermissionInput) error {
	var msgs []string
	add := func(value, member, constraint string) {
		if len(value) > maxShownValue {
			value = value[:maxShownValue] + "..."
		}
		msgs = append(msgs, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", value, member, constraint))
	}
	pattern := func(value, member string, re *regexp.Regexp, shown string, maxLen, minLen int) {
		if value == "" && minLen == 0 {
			return
		}
		if maxLen > 0 && len(value) > maxLen {
			add(value, member, fmt.Sprintf("Member must have length less than or equal to %d", maxLen))
		}
		if len(value) < minLen {
			add(value, member, fmt.Sprintf("Member must have length greater than or equal to %d", minLen))
		}
		if !re.MatchString(value) {
			add(value, member, "Member must satisfy regular expression pattern: "+shown)
		}
	}
	if in.Principal != "" {
		pattern(in.Principal, "principal", principalRE, `[^\s]+`, 0, 0)
	}
	pattern(in.SourceArn, "sourceArn", sourceArnRE, `arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)`, 0, 0)
	pattern(in.SourceAccount, "sourceAccount", accountRE, `\d{12}`, 12, 0)
	pattern(in.EventSourceToken, "eventSourceToken", eventSourceTokenRE, `[a-zA-Z0-9._\-]+`, 256, 0)
	if in.PrincipalOrgID != "" {
		pattern(in.PrincipalOrgID, "principalOrgID", principalOrgIDRE, `o-[a-z0-9]{10,32}`, 34, 12)
	}
	switch len(msgs) {
	case 0:
		return nil
	case 1:
		return validation("1 validation error detected: %s", msgs[0])
	}
	return validation("%d validation errors detected: %s", len(msgs), strings.Join(msgs, "; "))
}
