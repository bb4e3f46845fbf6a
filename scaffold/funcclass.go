package scaffold

import "fmt"

// A render is a pure function of the template, the answers and paved's
// version (design.md, "Determinism"): update re-renders the recorded
// version and refuses a repository whose files it no longer reproduces.
// So every function a template can call is classified here, once, by how
// it stands to that: deterministic as sprig or text/template has it, made
// deterministic by paved (deterministicFuncs), or refused. funcMap is built
// from this table, so a function sprig adds is unavailable until it is
// classified (and TestFuncTable fails until then).

// funcClass is how a template function stands to determinism.
type funcClass int

const (
	// deterministic: the same arguments give the same result on every
	// run and every host, as sprig or text/template has it.
	deterministic funcClass = iota + 1
	// madeDeterministic: sprig's or fmt's depends on map order, memory
	// addresses or the host; paved's own takes its place.
	madeDeterministic
	// refused: depends on the clock, randomness, the environment, the
	// host or the network. It is not in the function map, so a template
	// that calls it does not parse; refusedError says why.
	refused
)

func (c funcClass) String() string {
	switch c {
	case deterministic:
		return "deterministic as is"
	case madeDeterministic:
		return "made deterministic"
	case refused:
		return "refused"
	}
	return fmt.Sprintf("funcClass(%d)", int(c))
}

// funcRow classifies some functions. Each reason follows "it" ("it reads
// the clock"): a refused function's reason is what its error says.
type funcRow struct {
	names []string
	class funcClass
	// readsMap: it iterates a map it is given (or prints one), so the
	// property test (TestRendersAreDeterministic) must call it with maps.
	readsMap bool
	reason   string
}

// funcTable is every function a template can call: sprig's, text/template's
// builtins (those paved redefines too) and paved's own.
var funcTable = []funcRow{
	// Deterministic as is.
	{class: deterministic, reason: "is a function of its string arguments", names: []string{
		"abbrev", "abbrevboth", "camelcase", "contains", "hasPrefix", "hasSuffix", "hello", "indent",
		"initials", "kebabcase", "lower", "nindent", "nospace", "plural", "repeat", "replace",
		"snakecase", "substr", "swapcase", "title", "trim", "trimAll", "trimPrefix", "trimSuffix",
		"trimall", "trunc", "untitle", "upper", "wrap", "wrapWith",
	}},
	{class: deterministic, readsMap: true, reason: "prints its arguments with fmt, which prints a map with its keys sorted and a semantic version as its text", names: []string{
		"cat", "html", "join", "js", "print", "println", "quote", "sortAlpha", "squote", "toString",
		"toStrings", "urlquery",
	}},
	{class: deterministic, readsMap: true, reason: "writes JSON with encoding/json, which writes a map's keys sorted", names: []string{
		"mustToJson", "mustToPrettyJson", "mustToRawJson", "toJson", "toPrettyJson", "toRawJson",
	}},
	{class: deterministic, readsMap: true, reason: "iterates a map but returns a map, whatever the order (range, fmt and encoding/json visit a map in sorted key order)", names: []string{
		"deepCopy", "merge", "mergeOverwrite", "mustDeepCopy", "mustMerge", "mustMergeOverwrite", "omit",
	}},
	{class: deterministic, readsMap: true, reason: "compares values with reflect.DeepEqual, whose answer does not depend on map order", names: []string{
		"deepEqual", "has", "mustHas", "mustUniq", "mustWithout", "uniq", "without",
	}},
	{class: deterministic, reason: "makes a map (which range, fmt and encoding/json visit in sorted key order) or looks keys up in one", names: []string{
		"dict", "dig", "fromJson", "get", "hasKey", "mustFromJson", "pick", "pluck", "set", "split",
		"splitn", "unset", "urlJoin", "urlParse",
	}},
	{class: deterministic, reason: "walks a list in its order or makes one", names: []string{
		"append", "chunk", "compact", "concat", "first", "initial", "last", "list", "mustAppend",
		"mustChunk", "mustCompact", "mustFirst", "mustInitial", "mustLast", "mustPrepend", "mustPush",
		"mustRest", "mustReverse", "mustSlice", "prepend", "push", "rest", "reverse", "seq", "slice",
		"splitList", "tuple", "until", "untilStep",
	}},
	{class: deterministic, reason: "is arithmetic on its arguments (the ...f ones with shopspring/decimal at its default precision, which paved never changes)", names: []string{
		"add", "add1", "add1f", "addf", "atoi", "biggest", "ceil", "div", "divf", "float64", "floor",
		"int", "int64", "max", "maxf", "min", "minf", "mod", "mul", "mulf", "round", "sub", "subf",
		"toDecimal",
	}},
	{class: deterministic, reason: "chooses among or tests its arguments", names: []string{
		"all", "any", "coalesce", "default", "empty", "ternary",
	}},
	{class: deterministic, reason: "is a text/template builtin on its arguments (call calls a function value, which no render data hold)", names: []string{
		"and", "call", "eq", "ge", "gt", "index", "le", "len", "lt", "ne", "not", "or",
	}},
	{class: deterministic, reason: "is a digest or an encoding of its argument", names: []string{
		"adler32sum", "b32dec", "b32enc", "b64dec", "b64enc", "sha1sum", "sha256sum", "sha512sum",
	}},
	{class: deterministic, reason: "is Go's regexp (RE2): a function of the expression and the text", names: []string{
		"mustRegexFind", "mustRegexFindAll", "mustRegexMatch", "mustRegexReplaceAll",
		"mustRegexReplaceAllLiteral", "mustRegexSplit", "regexFind", "regexFindAll", "regexMatch",
		"regexQuoteMeta", "regexReplaceAll", "regexReplaceAllLiteral", "regexSplit",
	}},
	{class: deterministic, reason: "parses or compares semantic versions", names: []string{"semver", "semverCompare"}},
	{class: deterministic, reason: "names its argument's Go type or kind, as the Go release paved is built with names it", names: []string{
		"kindIs", "kindOf", "typeIs", "typeIsLike", "typeOf",
	}},
	{class: deterministic, reason: "works on slash-separated paths (package path), the same on every host", names: []string{
		"base", "clean", "dir", "ext", "isAbs",
	}},
	{class: deterministic, reason: "fails the render with the message it is given", names: []string{"fail"}},
	{class: deterministic, reason: "formats a number of seconds as a duration", names: []string{"duration"}},
	{class: deterministic, reason: "works only on what it is given: derivePassword has no salt of its own, decryptAES takes the IV from its input, buildCustomCert checks and returns the certificate and key", names: []string{
		"buildCustomCert", "decryptAES", "derivePassword",
	}},
	{class: deterministic, reason: "is paved's own: a module path's last element without its /vN", names: []string{"moduleBase"}},
	{class: deterministic, reason: "is paved's own: the check of the render's deadline that paved puts in every loop and template; it prints nothing", names: []string{deadlineFunc}},

	// Made deterministic.
	{class: madeDeterministic, readsMap: true, reason: "lists keys in Go's map order, which changes from run to run, as sprig has it: paved's sorts them (the keys of all its dicts together, repeats kept)", names: []string{"keys"}},
	{class: madeDeterministic, readsMap: true, reason: "lists values in map order, as sprig has it: paved's lists them in their keys' sorted order", names: []string{"values"}},
	{class: madeDeterministic, reason: "follows the host's path rules (package filepath: \\ on Windows), as sprig has it: paved's is base, clean, dir, ext or isAbs, slash-separated on every host", names: []string{
		"osBase", "osClean", "osDir", "osExt", "osIsAbs",
	}},
	{class: madeDeterministic, readsMap: true, reason: "prints a memory address for %p, and for a pointer inside a list or map (a semver in a list) under verbs other than %v %s %q %x %X %T, as fmt has it: paved's printf refuses those formats", names: []string{"printf"}},

	// Refused.
	{class: refused, reason: "reads the clock", names: []string{"ago", "now"}},
	{class: refused, reason: "formats a date in the host's time zone (and no date is now)", names: []string{"date", "htmlDate"}},
	{class: refused, reason: "reads the host's time zone database (and no date is now)", names: []string{"dateInZone", "date_in_zone", "htmlDateInZone"}},
	{class: refused, reason: "parses a date in the host's time zone", names: []string{"mustToDate", "toDate"}},
	{class: refused, reason: "works on a date, and every way to make one reads the clock or the host's time zone", names: []string{
		"dateModify", "date_modify", "mustDateModify", "must_date_modify", "unixEpoch",
	}},
	{class: refused, reason: "measures a date's distance from now on the clock", names: []string{"durationRound"}},
	{class: refused, reason: "reads the environment", names: []string{"env", "expandenv"}},
	{class: refused, reason: "asks DNS: the network", names: []string{"getHostByName"}},
	{class: refused, reason: "is random", names: []string{
		"randAlpha", "randAlphaNum", "randAscii", "randBytes", "randInt", "randNumeric", "shuffle", "uuidv4",
	}},
	{class: refused, reason: "salts with random bytes", names: []string{"bcrypt", "htpasswd"}},
	{class: refused, reason: "makes a random key", names: []string{"genPrivateKey"}},
	{class: refused, reason: "makes a random serial number (and key) and dates the certificate from the clock", names: []string{
		"genCA", "genCAWithKey", "genSelfSignedCert", "genSelfSignedCertWithKey", "genSignedCert", "genSignedCertWithKey",
	}},
	{class: refused, reason: "encrypts with a random IV", names: []string{"encryptAES"}},
}

// funcRule finds a function's row.
func funcRule(name string) (funcRow, bool) {
	for _, row := range funcTable {
		for _, n := range row.names {
			if n == name {
				return row, true
			}
		}
	}
	return funcRow{}, false
}

// refusedReason is why a template function is refused, as errors say it;
// ok is false when it is not refused.
func refusedReason(name string) (reason string, ok bool) {
	row, found := funcRule(name)
	if !found || row.class != refused {
		return "", false
	}
	return fmt.Sprintf("function %q is refused: it %s (a render gives the same bytes on every run and every machine)", name, row.reason), true
}

// notDefinedRE matches text/template's parse error for a function the
// function map does not hold, after the file and line it names.
var notDefinedRE = lazyRegexp(`:\d+: function "([^"]*)" not defined$`)

// explainRefused turns text/template's `FILE:LINE: function "now" not
// defined` into why the function is refused, when it is; any other
// message is returned as it is.
func explainRefused(msg string) string {
	m := notDefinedRE().FindStringSubmatchIndex(msg)
	if m == nil {
		return msg
	}
	why, ok := refusedReason(msg[m[2]:m[3]])
	if !ok {
		return msg
	}
	// From the function's opening quote back: `function "` is 10 bytes.
	return msg[:m[2]-len(`function "`)] + why
}
