package verify

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// protoProblems decodes a YAML mapping as protojson decodes the JSON of
// it, field by field alongside the message descriptor, so that every
// problem is known at its node: an unknown field at its key, a value
// protojson refuses (an enum name, a duration, a number) at the value.
// Nested messages are walked; well-known types (Duration, Struct, ...),
// scalars and lists of scalars are decoded as a one-field message.
func protoProblems(md protoreflect.MessageDescriptor, n *yaml.Node, report func(n *yaml.Node, msg string)) {
	if n == nil {
		return
	}
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
			return
		}
		report(n, "want an object for "+string(md.Name()))
		return
	}
	fields := md.Fields()
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		fd := fields.ByJSONName(k.Value)
		if fd == nil {
			fd = fields.ByName(protoreflect.Name(k.Value))
		}
		if fd == nil {
			report(k, "unknown field \""+k.Value+"\"")
			continue
		}
		switch {
		case fd.IsMap():
			if vd := fd.MapValue().Message(); vd != nil && !wellKnown(vd) && v.Kind == yaml.MappingNode {
				for j := 1; j < len(v.Content); j += 2 {
					protoProblems(vd, v.Content[j], report)
				}
				continue
			}
		case fd.Message() != nil && !wellKnown(fd.Message()) && fd.IsList():
			if v.Kind == yaml.SequenceNode {
				for _, item := range v.Content {
					protoProblems(fd.Message(), item, report)
				}
				continue
			}
		case fd.Message() != nil && !wellKnown(fd.Message()):
			protoProblems(fd.Message(), v, report)
			continue
		}
		if msg := protoFieldProblem(md, k.Value, v); msg != "" {
			report(v, msg)
		}
	}
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
