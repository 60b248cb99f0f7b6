package redactcorpus

import (
	"encoding/base64"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"hash/fnv"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/lucasjones/reggen"
	"github.com/zricethezav/gitleaks/v8/cmd/generate/config/rules"
	"github.com/zricethezav/gitleaks/v8/cmd/generate/config/utils"
)

// gitleaks keeps the examples of each rule as local variables of the rule's
// constructor (cmd/generate/config/rules), handed to utils.Validate, which
// checks them and throws them away: no exported API returns them. So this
// file reads the constructors' source from the module cache and evaluates
// the few expression forms they use (string literals, +, []string{...},
// append, gitleaks' own utils helpers, fmt.Sprintf, base64, ranges over
// literal lists and maps, calls of the package's own helper functions). Where
// an example uses gitleaks' random secret generator (secrets.NewSecret), the
// same generator (github.com/lucasjones/reggen) runs with a seed derived
// from the rule's name, so the corpus is the same on every run. Anything the
// evaluator does not understand is counted and skipped, never guessed.

// example is one example string of a gitleaks rule.
type example struct {
	rule string // gitleaks RuleID
	text string
	tp   bool // a true positive (else a false positive)
}

// rulesDir returns the directory of gitleaks' rule constructors.
func rulesDir() (string, error) {
	fn := runtime.FuncForPC(reflect.ValueOf(rules.AWS).Pointer())
	if fn != nil {
		file, _ := fn.FileLine(fn.Entry())
		if filepath.IsAbs(file) {
			if _, err := os.Stat(file); err == nil {
				return filepath.Dir(file), nil
			}
		}
	}
	// Built with -trimpath: find the module in the module cache.
	version := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/zricethezav/gitleaks/v8" {
				version = d.Version
			}
		}
	}
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		out, err := exec.Command("go", "env", "GOMODCACHE").Output()
		if err != nil {
			return "", err
		}
		cache = strings.TrimSpace(string(out))
	}
	return filepath.Join(cache, "github.com/zricethezav/gitleaks/v8@"+version, "cmd/generate/config/rules"), nil
}

// extraction is the result of reading every rule constructor.
type extraction struct {
	examples []example
	rules    []string       // rule IDs found, in file order
	skipped  map[string]int // rule ID -> statements or examples not evaluated
}

// extractExamples evaluates every rule constructor in dir.
func extractExamples(dir string) (*extraction, error) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	pkg := &pkgScope{funcs: map[string]*ast.FuncDecl{}, vals: map[string]ast.Expr{}}
	var files []*ast.File
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, 0)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					pkg.funcs[d.Name.Name] = d
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					if vs, ok := s.(*ast.ValueSpec); ok {
						for i, n := range vs.Names {
							if i < len(vs.Values) {
								pkg.vals[n.Name] = vs.Values[i]
							}
						}
					}
				}
			}
		}
	}
	x := &extraction{skipped: map[string]int{}}
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv != nil || !returnsRule(fd) {
				continue
			}
			ev := &evaluator{pkg: pkg, fn: fd.Name.Name}
			ev.rule = ruleID(fd, ev)
			x.rules = append(x.rules, ev.rule)
			_, _ = ev.call(fd, nil)
			x.examples = append(x.examples, ev.examples...)
			if ev.skipped > 0 {
				x.skipped[ev.rule] += ev.skipped
			}
		}
	}
	return x, nil
}

func returnsRule(fd *ast.FuncDecl) bool {
	if fd.Type.Results == nil || len(fd.Type.Results.List) != 1 {
		return false
	}
	star, ok := fd.Type.Results.List[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	sel, ok := star.X.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "Rule"
}

// ruleID finds `RuleID: "..."` in the constructor.
func ruleID(fd *ast.FuncDecl, ev *evaluator) string {
	id := ""
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		kv, ok := n.(*ast.KeyValueExpr)
		if !ok || id != "" {
			return id == ""
		}
		if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "RuleID" {
			if v, err := ev.eval(kv.Value, nil); err == nil {
				id, _ = v.(string)
			}
		}
		return true
	})
	if id == "" {
		id = fd.Name.Name
	}
	return id
}

type pkgScope struct {
	funcs map[string]*ast.FuncDecl
	vals  map[string]ast.Expr
}

type evaluator struct {
	pkg      *pkgScope
	fn       string
	rule     string
	secrets  int // NewSecret calls so far, for the seed
	examples []example
	skipped  int
	depth    int
}

var errUnsupported = errors.New("unsupported")

type scope map[string]any

type returned struct{ v any }

// call runs fd with args bound to its parameters.
func (ev *evaluator) call(fd *ast.FuncDecl, args []any) (any, error) {
	if ev.depth > 8 {
		return nil, errUnsupported
	}
	ev.depth++
	defer func() { ev.depth-- }()
	env := scope{}
	i := 0
	for _, p := range fd.Type.Params.List {
		for _, n := range p.Names {
			if i < len(args) {
				env[n.Name] = args[i]
			}
			i++
		}
	}
	r, err := ev.exec(fd.Body.List, env)
	if err != nil {
		return nil, err
	}
	if r != nil {
		return r.v, nil
	}
	return nil, nil
}

func (ev *evaluator) exec(stmts []ast.Stmt, env scope) (*returned, error) {
	for _, s := range stmts {
		switch s := s.(type) {
		case *ast.AssignStmt:
			if len(s.Lhs) != len(s.Rhs) {
				ev.skipped++
				continue
			}
			for i, l := range s.Lhs {
				id, ok := l.(*ast.Ident)
				if !ok {
					ev.skipped++
					continue
				}
				if cl, ok := s.Rhs[i].(*ast.CompositeLit); ok && isRuleLit(cl) {
					continue // the rule itself: not an example
				}
				v, err := ev.eval(s.Rhs[i], env)
				if err != nil {
					ev.skipped++
					continue
				}
				if s.Tok == token.ADD_ASSIGN {
					a, _ := env[id.Name].(string)
					b, _ := v.(string)
					v = a + b
				}
				env[id.Name] = v
			}
		case *ast.DeclStmt:
			gd, ok := s.Decl.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, sp := range gd.Specs {
				vs, ok := sp.(*ast.ValueSpec)
				if !ok {
					continue
				}
				for i, n := range vs.Names {
					if i >= len(vs.Values) {
						env[n.Name] = nil
						continue
					}
					v, err := ev.eval(vs.Values[i], env)
					if err != nil {
						ev.skipped++
						continue
					}
					env[n.Name] = v
				}
			}
		case *ast.RangeStmt:
			if err := ev.rangeStmt(s, env); err != nil {
				ev.skipped++
			}
		case *ast.BlockStmt:
			if r, err := ev.exec(s.List, env); r != nil || err != nil {
				return r, err
			}
		case *ast.ReturnStmt:
			if len(s.Results) != 1 {
				return &returned{}, nil
			}
			if ce, ok := s.Results[0].(*ast.CallExpr); ok {
				if name := selName(ce.Fun); name == "utils.Validate" || name == "utils.ValidateWithPaths" {
					ev.validate(ce, env)
					return &returned{}, nil
				}
			}
			v, err := ev.eval(s.Results[0], env)
			if err != nil {
				return nil, err
			}
			return &returned{v}, nil
		default:
			ev.skipped++
		}
	}
	return nil, nil
}

func (ev *evaluator) rangeStmt(s *ast.RangeStmt, env scope) error {
	coll, err := ev.eval(s.X, env)
	if err != nil {
		return err
	}
	bind := func(k, v any) error {
		if id, ok := s.Key.(*ast.Ident); ok && id.Name != "_" {
			env[id.Name] = k
		}
		if id, ok := s.Value.(*ast.Ident); ok && id.Name != "_" {
			env[id.Name] = v
		}
		r, err := ev.exec(s.Body.List, env)
		if r != nil {
			return errUnsupported
		}
		return err
	}
	switch c := coll.(type) {
	case []string:
		for i, v := range c {
			if err := bind(i, v); err != nil {
				return err
			}
		}
	case map[string][]string:
		for _, k := range slices.Sorted(maps.Keys(c)) {
			if err := bind(k, c[k]); err != nil {
				return err
			}
		}
	case map[string]string:
		for _, k := range slices.Sorted(maps.Keys(c)) {
			if err := bind(k, c[k]); err != nil {
				return err
			}
		}
	default:
		return errUnsupported
	}
	return nil
}

// validate records the examples handed to utils.Validate(r, tps, fps) or
// utils.ValidateWithPaths(r, tpsByPath, fpsByPath).
func (ev *evaluator) validate(ce *ast.CallExpr, env scope) {
	if len(ce.Args) != 3 {
		ev.skipped++
		return
	}
	for i, tp := range []bool{true, false} {
		v, err := ev.eval(ce.Args[i+1], env)
		if err != nil {
			ev.skipped++
			continue
		}
		var texts []string
		switch v := v.(type) {
		case nil:
		case []string:
			texts = v
		case map[string]string:
			for _, k := range slices.Sorted(maps.Keys(v)) {
				texts = append(texts, v[k])
			}
		default:
			ev.skipped++
		}
		for _, t := range texts {
			ev.examples = append(ev.examples, example{rule: ev.rule, text: t, tp: tp})
		}
	}
}

// isRuleLit reports whether cl is a config.Rule{...} literal.
func isRuleLit(cl *ast.CompositeLit) bool {
	return selName(cl.Type) == "config.Rule"
}

func selName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return selName(e.X) + "." + e.Sel.Name
	}
	return ""
}

func (ev *evaluator) evalStrings(exprs []ast.Expr, env scope) ([]string, error) {
	var out []string
	for _, e := range exprs {
		v, err := ev.eval(e, env)
		if err != nil {
			return nil, err
		}
		s, ok := v.(string)
		if !ok {
			return nil, errUnsupported
		}
		out = append(out, s)
	}
	return out, nil
}

func (ev *evaluator) eval(e ast.Expr, env scope) (any, error) {
	switch e := e.(type) {
	case *ast.BasicLit:
		switch e.Kind {
		case token.STRING, token.CHAR:
			return strconv.Unquote(e.Value)
		case token.INT:
			return strconv.Atoi(e.Value)
		}
	case *ast.Ident:
		if v, ok := env[e.Name]; ok {
			return v, nil
		}
		if e.Name == "nil" {
			return nil, nil
		}
		if x, ok := ev.pkg.vals[e.Name]; ok {
			return ev.eval(x, nil)
		}
	case *ast.ParenExpr:
		return ev.eval(e.X, env)
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			break
		}
		a, err := ev.eval(e.X, env)
		if err != nil {
			return nil, err
		}
		b, err := ev.eval(e.Y, env)
		if err != nil {
			return nil, err
		}
		as, ok1 := a.(string)
		bs, ok2 := b.(string)
		if ok1 && ok2 {
			return as + bs, nil
		}
	case *ast.CompositeLit:
		return ev.composite(e, env)
	case *ast.CallExpr:
		return ev.callExpr(e, env)
	}
	return nil, errUnsupported
}

func (ev *evaluator) composite(e *ast.CompositeLit, env scope) (any, error) {
	switch t := e.Type.(type) {
	case *ast.ArrayType:
		if id, ok := t.Elt.(*ast.Ident); ok && id.Name == "string" {
			out, err := ev.evalStrings(e.Elts, env)
			if err != nil {
				return nil, err
			}
			return out, nil
		}
	case *ast.MapType:
		if id, ok := t.Key.(*ast.Ident); !ok || id.Name != "string" {
			return nil, errUnsupported
		}
		switch vt := t.Value.(type) {
		case *ast.Ident:
			if vt.Name != "string" {
				return nil, errUnsupported
			}
			out := map[string]string{}
			for _, el := range e.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					return nil, errUnsupported
				}
				k, err1 := ev.eval(kv.Key, env)
				v, err2 := ev.eval(kv.Value, env)
				ks, ok1 := k.(string)
				vs, ok2 := v.(string)
				if err1 != nil || err2 != nil || !ok1 || !ok2 {
					return nil, errUnsupported
				}
				out[ks] = vs
			}
			return out, nil
		case *ast.ArrayType:
			out := map[string][]string{}
			for _, el := range e.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					return nil, errUnsupported
				}
				k, err := ev.eval(kv.Key, env)
				ks, ok := k.(string)
				if err != nil || !ok {
					return nil, errUnsupported
				}
				cl, ok := kv.Value.(*ast.CompositeLit)
				if !ok {
					return nil, errUnsupported
				}
				vals, err := ev.evalStrings(cl.Elts, env)
				if err != nil {
					return nil, err
				}
				out[ks] = vals
			}
			return out, nil
		}
	}
	return nil, errUnsupported
}

// patternHelpers are gitleaks' own helpers that build a regex for its
// secret generator; calling them keeps the examples exactly as gitleaks
// builds them.
var patternHelpers = map[string]func(string) string{
	"utils.Numeric":                   utils.Numeric,
	"utils.Hex":                       utils.Hex,
	"utils.AlphaNumeric":              utils.AlphaNumeric,
	"utils.AlphaNumericExtendedShort": utils.AlphaNumericExtendedShort,
	"utils.AlphaNumericExtended":      utils.AlphaNumericExtended,
	"utils.AlphaNumericExtendedLong":  utils.AlphaNumericExtendedLong,
}

func (ev *evaluator) callExpr(e *ast.CallExpr, env scope) (any, error) {
	// Conversions: []byte(x), string(x).
	if at, ok := e.Fun.(*ast.ArrayType); ok && len(e.Args) == 1 {
		if id, ok := at.Elt.(*ast.Ident); ok && id.Name == "byte" {
			return ev.eval(e.Args[0], env)
		}
	}
	name := selName(e.Fun)
	if name == "string" && len(e.Args) == 1 {
		return ev.eval(e.Args[0], env)
	}
	if name == "append" && len(e.Args) >= 1 {
		base, err := ev.eval(e.Args[0], env)
		if err != nil {
			return nil, err
		}
		out, ok := base.([]string)
		if !ok && base != nil {
			return nil, errUnsupported
		}
		out = slices.Clone(out)
		for i, a := range e.Args[1:] {
			v, err := ev.eval(a, env)
			if err != nil {
				return nil, err
			}
			if e.Ellipsis.IsValid() && i == len(e.Args)-2 {
				vs, ok := v.([]string)
				if !ok {
					return nil, errUnsupported
				}
				out = append(out, vs...)
				continue
			}
			s, ok := v.(string)
			if !ok {
				return nil, errUnsupported
			}
			out = append(out, s)
		}
		return out, nil
	}
	args := make([]any, 0, len(e.Args))
	for _, a := range e.Args {
		v, err := ev.eval(a, env)
		if err != nil {
			return nil, err
		}
		args = append(args, v)
	}
	str := func(i int) string {
		if i < len(args) {
			s, _ := args[i].(string)
			return s
		}
		return ""
	}
	switch {
	case name == "secrets.NewSecret":
		return ev.newSecret(str(0))
	case name == "utils.GenerateSampleSecret":
		return utils.GenerateSampleSecret(str(0), str(1)), nil
	case name == "utils.GenerateSampleSecrets":
		out := utils.GenerateSampleSecrets(str(0), str(1))
		slices.Sort(out) // built from a map: the order varies
		return out, nil
	case patternHelpers[name] != nil:
		return patternHelpers[name](str(0)), nil
	case name == "utils.Hex8_4_4_4_12":
		return utils.Hex8_4_4_4_12(), nil
	case name == "fmt.Sprintf":
		return fmt.Sprintf(str(0), args[1:]...), nil
	case name == "strings.Repeat":
		n, _ := args[1].(int)
		return strings.Repeat(str(0), n), nil
	case name == "strings.ToUpper":
		return strings.ToUpper(str(0)), nil
	case name == "strings.ToLower":
		return strings.ToLower(str(0)), nil
	case strings.HasSuffix(name, "StdEncoding.EncodeToString"):
		if strings.HasSuffix(name, "RawStdEncoding.EncodeToString") {
			return base64.RawStdEncoding.EncodeToString([]byte(str(0))), nil
		}
		return base64.StdEncoding.EncodeToString([]byte(str(0))), nil
	case strings.HasSuffix(name, "URLEncoding.EncodeToString"):
		if strings.HasSuffix(name, "RawURLEncoding.EncodeToString") {
			return base64.RawURLEncoding.EncodeToString([]byte(str(0))), nil
		}
		return base64.URLEncoding.EncodeToString([]byte(str(0))), nil
	}
	if name == "newPlausibleSecret" {
		return ev.plausibleSecret(str(0))
	}
	if fd, ok := ev.pkg.funcs[name]; ok && !returnsRule(fd) {
		return ev.call(fd, args)
	}
	return nil, errUnsupported
}

// plausibleSecret does what generic.go's newPlausibleSecret does, the one
// helper whose loop the evaluator cannot run: draw secrets until one has a
// digit 1-9 and none of gitleaks' stop words.
func (ev *evaluator) plausibleSecret(re string) (any, error) {
	for range 1000 {
		v, err := ev.newSecret(re)
		if err != nil {
			return nil, err
		}
		s := v.(string)
		if !strings.ContainsAny(s, "123456789") {
			continue
		}
		lower := strings.ToLower(s)
		if slices.ContainsFunc(rules.DefaultStopWords, func(w string) bool { return strings.Contains(lower, w) }) {
			continue
		}
		return s, nil
	}
	return nil, errUnsupported
}

// newSecret is gitleaks' secrets.NewSecret with a fixed seed: the same
// generator, the same regex, the same output on every run.
func (ev *evaluator) newSecret(re string) (any, error) {
	g, err := reggen.NewGenerator(re)
	if err != nil {
		return nil, err
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", ev.fn, ev.secrets)
	ev.secrets++
	g.SetSeed(int64(h.Sum64() >> 1))
	return g.Generate(1), nil
}
