{{/* The pods an experiment may touch: this release's own (stable and
canary), in its own namespace (named from the release, never written down),
so the experiments of the staging release reach staging pods only. */}}
{{- define "service.chaosSelector" -}}
namespaces:
  - {{ .Release.Namespace }}
labelSelectors:
  {{- include "service.selectorLabels" . | nindent 2 }}
{{- end }}
