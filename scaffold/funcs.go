package scaffold

import (
	"sync"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"golang.org/x/mod/module"
)

// hostFuncs are sprig functions that read the machine (environment, clock,
// network, randomness). Templates are untrusted input and rendering must be
// deterministic, so none of them is available.
var hostFuncs = []string{
	"env", "expandenv", "getHostByName",
	"now", "ago", "date", "date_in_zone", "dateInZone", "date_modify", "dateModify", "mustDateModify",
	"must_date_modify", "htmlDate", "htmlDateInZone", "toDate", "mustToDate", "durationRound", "unixEpoch",
	"randAlphaNum", "randAlpha", "randAscii", "randNumeric", "randBytes", "randInt", "uuidv4", "shuffle",
	"genPrivateKey", "genCA", "genCAWithKey", "genSelfSignedCert", "genSelfSignedCertWithKey",
	"genSignedCert", "genSignedCertWithKey", "encryptAES", "decryptAES", "bcrypt", "htpasswd",
}

// templateFuncs is funcMap built once: templates only read it.
var templateFuncs = sync.OnceValue(funcMap)

// funcMap returns the functions available to templates: sprig's pure
// functions plus moduleBase.
func funcMap() template.FuncMap {
	fm := sprig.TxtFuncMap()
	for _, name := range hostFuncs {
		delete(fm, name)
	}
	fm["moduleBase"] = moduleBase
	return fm
}

// moduleBase is the last element of a module path without its major version
// suffix: example.com/acme/payments/v2 -> payments.
func moduleBase(modPath string) string {
	prefix, _, ok := module.SplitPathVersion(modPath)
	if !ok {
		prefix = modPath
	}
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] == '/' {
			return prefix[i+1:]
		}
	}
	return prefix
}
