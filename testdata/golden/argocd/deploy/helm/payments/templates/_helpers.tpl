{{/* Chart name, at most 63 characters. */}}
{{- define "service.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, unless it does not contain the chart name. */}}
{{- define "service.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart label value: name-version. */}}
{{- define "service.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Image tag (or appVersion) as the version label. */}}
{{- define "service.version" -}}
{{- default .Chart.AppVersion .Values.image.tag | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object (Helm's recommended set) but the component. */}}
{{- define "service.commonLabels" -}}
helm.sh/chart: {{ include "service.chart" . }}
{{ include "service.selectorLabels" . }}
app.kubernetes.io/version: {{ include "service.version" . | quote }}
app.kubernetes.io/part-of: {{ include "service.name" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels of the server's objects. */}}
{{- define "service.labels" -}}
{{ include "service.commonLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{/* Selector of this release's pods (immutable in a Deployment). */}}
{{- define "service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* ServiceAccount name. */}}
{{- define "service.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "service.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image reference: by digest when one is given, else by tag. */}}
{{- define "service.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Pod securityContext meeting the restricted Pod Security Standard. */}}
{{- define "service.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container securityContext meeting the restricted Pod Security Standard. */}}
{{- define "service.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Seconds the service may take after SIGTERM: drain, shutdown, span flush.
The Istio sidecar drains this long, so the service's own calls (the span
export among them) work until it exits. */}}
{{- define "service.stopSeconds" -}}
{{- add .Values.shutdown.drainSeconds .Values.shutdown.timeoutSeconds .Values.shutdown.flushSeconds }}
{{- end }}

{{/* Pod annotations: Istio's (when istio.enabled) under podAnnotations,
which win. The sidecar starts before the service and drains as long as the
service stops; the metrics port bypasses the sidecar, so Prometheus (outside
the mesh) scrapes it in plain HTTP under STRICT mutual TLS. */}}
{{- define "service.podAnnotations" -}}
{{- $ann := dict }}
{{- if .Values.istio.enabled }}
{{- $proxy := dict "holdApplicationUntilProxyStarts" true "terminationDrainDuration" (printf "%ss" (include "service.stopSeconds" .)) }}
{{- $_ := set $ann "proxy.istio.io/config" (toJson $proxy) }}
{{- $_ := set $ann "traffic.sidecar.istio.io/excludeInboundPorts" (toString .Values.metricsPort) }}
{{- end }}
{{- $ann = merge (deepCopy .Values.podAnnotations) $ann }}
{{- with $ann }}
{{- toYaml . }}
{{- end }}
{{- end }}
