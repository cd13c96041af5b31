{{/* Chart name, overridable. */}}
{{- define "hypernym.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full resource name: <release>-<chart> unless the release name already holds the chart name. */}}
{{- define "hypernym.fullname" -}}
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

{{- define "hypernym.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: stable for the life of a release (a Deployment selector is immutable). */}}
{{- define "hypernym.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hypernym.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "hypernym.labels" -}}
helm.sh/chart: {{ include "hypernym.chart" . }}
{{ include "hypernym.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "hypernym.serviceAccountName" -}}
{{- default (include "hypernym.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{/* Image reference: a digest wins over a tag; the tag defaults to the chart's appVersion. */}}
{{- define "hypernym.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The service's routes (service/contract.py HEALTH_PATH and READY_PATH). */}}
{{- define "hypernym.healthPath" -}}/health{{- end }}
{{- define "hypernym.readyPath" -}}/ready{{- end }}

{{/* The container port: the contract's PORT variable, so the env and the port cannot disagree. */}}
{{- define "hypernym.containerPort" -}}
{{- .Values.env.PORT | int }}
{{- end }}

{{/* TCP port of MANAGED_API_URL (explicit, or the scheme's default); empty without the URL. */}}
{{- define "hypernym.managedApiPort" -}}
{{- with .Values.env.MANAGED_API_URL }}
{{- $url := urlParse . }}
{{- $hostAndPort := splitList ":" $url.host }}
{{- if gt (len $hostAndPort) 1 }}{{ last $hostAndPort }}{{ else if eq $url.scheme "https" }}443{{ else }}80{{ end }}
{{- end }}
{{- end }}
