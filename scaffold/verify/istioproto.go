package verify

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/paved-dev/paved/scaffold/internal/yamlnode"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// specWalk is what walkSpec reports. A problem is what protojson refuses,
// each at its node: an unknown field at its key, a value protojson refuses
// (an enum name, a duration, a number) at the value. The other two are what
// protojson accepts and the CRD schema does not: a key written with the
// proto name (per_try_timeout for perTryTimeout), and a 32-bit integer
// written as a string. Any field may be nil.
type specWalk struct {
	problem func(n *yaml.Node, msg string)
	badName func(k *yaml.Node, got, want string)
	badType func(n *yaml.Node, field string)
}

// walkSpec decodes a YAML mapping as protojson decodes the JSON of it, field
// by field alongside the message descriptor, in one walk for every kind of
// finding. Nested messages are walked; well-known types (Duration, Struct,
// ...), scalars and lists of scalars are decoded as a one-field message.
func walkSpec(md protoreflect.MessageDescriptor, n *yaml.Node, w specWalk) {
	if n == nil {
		return
	}
	if n.Kind != yaml.MappingNode {
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!null" {
			w.reportProblem(n, "want an object for "+string(md.Name()))
		}
		return
	}
	fields := md.Fields()
	for k, v := range yamlnode.Pairs(n) {
		fd := fields.ByJSONName(k.Value)
		if fd == nil {
			if fd = fields.ByName(protoreflect.Name(k.Value)); fd == nil {
				w.reportProblem(k, "unknown field \""+k.Value+"\"")
				continue
			}
			if fd.JSONName() != k.Value && w.badName != nil {
				w.badName(k, k.Value, fd.JSONName())
			}
		}
		if is32BitInt(fd) && w.badType != nil {
			// protojson takes "10" for 10; the CRD schema wants an integer.
			items := []*yaml.Node{v}
			if fd.IsList() {
				items = yamlnode.Items(v)
			}
			for _, it := range items {
				if it.Kind == yaml.ScalarNode && it.ShortTag() == "!!str" {
					w.badType(it, k.Value)
				}
			}
		}
		switch {
		case fd.IsMap():
			if vd := fd.MapValue().Message(); vd != nil && !wellKnown(vd) && v.Kind == yaml.MappingNode {
				for _, item := range yamlnode.Values(v) {
					walkSpec(vd, item, w)
				}
				continue
			}
		case fd.Message() != nil && !wellKnown(fd.Message()) && fd.IsList():
			if v.Kind == yaml.SequenceNode {
				for _, item := range v.Content {
					walkSpec(fd.Message(), item, w)
				}
				continue
			}
		case fd.Message() != nil && !wellKnown(fd.Message()):
			walkSpec(fd.Message(), v, w)
			continue
		}
		if msg := protoFieldProblem(md, k.Value, v); msg != "" {
			w.reportProblem(v, msg)
		}
	}
}

func (w specWalk) reportProblem(n *yaml.Node, msg string) {
	if w.problem != nil {
		w.problem(n, msg)
	}
}

// is32BitInt reports whether fd holds 32-bit integers.
func is32BitInt(fd protoreflect.FieldDescriptor) bool {
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind, protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return true
	}
	return false
}

// wellKnown reports whether a message is one of protobuf's well-known
// types, which protojson writes in their own JSON forms.
func wellKnown(md protoreflect.MessageDescriptor) bool {
	return strings.HasPrefix(string(md.FullName()), "google.protobuf.")
}

// protoFieldProblem decodes {"key": value} into a message of type md and
// returns protojson's complaint, without its position (which is the
// one-field document's, not the file's).
func protoFieldProblem(md protoreflect.MessageDescriptor, key string, v *yaml.Node) string {
	val, err := nodeJSON(v)
	if err != nil {
		return err.Error()
	}
	kq, _ := json.Marshal(key)
	js := slices.Concat([]byte("{"), kq, []byte(":"), bytes.TrimSpace(val), []byte("}"))
	if err := protojson.Unmarshal(js, dynamicpb.NewMessage(md)); err != nil {
		s := strings.TrimSpace(strings.TrimPrefix(err.Error(), "proto:"))
		s = strings.ReplaceAll(s, "\u00a0", " ")
		if i := strings.Index(s, "): "); strings.HasPrefix(s, "(line ") && i > 0 {
			s = s[i+3:]
		}
		return s
	}
	return ""
}
