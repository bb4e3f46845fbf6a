{{/* The pods an experiment may touch: this release's own, in its own
namespace (named from the release, never written down), so the experiments
of the staging release reach staging pods only, and those of a canary
release (track=canary) the canary's only. */}}
{{- define "service.chaosSelector" -}}
namespaces:
  - {{ .Release.Namespace }}
labelSelectors:
  {{- include "service.selectorLabels" . | nindent 2 }}
  track: {{ .Values.track }}
{{- end }}
