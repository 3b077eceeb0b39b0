{{/* Safehold's namespace: the value, else the release's. */}}
{{- define "safehold.namespace" -}}
{{- default .Release.Namespace .Values.namespace -}}
{{- end -}}

{{/* Names of the release's objects: "safehold", or "<release>-safehold" for a release not named safehold. */}}
{{- define "safehold.fullname" -}}
{{- if contains "safehold" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-safehold" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "safehold.selectorLabels" -}}
app.kubernetes.io/name: safehold
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "safehold.labels" -}}
{{ include "safehold.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "safehold.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The mover's Pod settings as the operator's --mover-pod takes them. */}}
{{- define "safehold.moverPod" -}}
{{- $pod := dict "serviceAccountName" (printf "%s-mover" (include "safehold.fullname" .)) -}}
{{- with .Values.mover.resources }}{{ $_ := set $pod "resources" . }}{{ end -}}
{{- with .Values.mover.nodeSelector }}{{ $_ := set $pod "nodeSelector" . }}{{ end -}}
{{- with .Values.mover.tolerations }}{{ $_ := set $pod "tolerations" . }}{{ end -}}
{{- toJson $pod -}}
{{- end -}}
