{{/* Names, labels and the pieces every component shares. */}}

{{- define "symphony.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name, truncated so "<fullname>-analytics-headless" stays a valid DNS label. */}}
{{- define "symphony.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "symphony.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels; call with (dict "root" $ "component" "auth"). */}}
{{- define "symphony.selectorLabels" -}}
app.kubernetes.io/name: {{ include "symphony.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "symphony.labels" -}}
helm.sh/chart: {{ include "symphony.chart" .root }}
{{ include "symphony.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: symphony
{{- end -}}

{{/* Labels without a component, for release-wide objects (Secret, ServiceAccount). */}}
{{- define "symphony.commonLabels" -}}
helm.sh/chart: {{ include "symphony.chart" . }}
app.kubernetes.io/name: {{ include "symphony.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: symphony
{{- end -}}

{{- define "symphony.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "symphony.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "symphony.secretName" -}}
{{- default (printf "%s-secrets" (include "symphony.fullname" .)) .Values.secret.existingSecret -}}
{{- end -}}

{{/* The effective settings of a backend: serviceDefaults overridden by services.<name>.
     Call with (dict "root" $ "name" "auth"); returns YAML for fromYaml. */}}
{{- define "symphony.backend" -}}
{{- $own := index .root.Values.services .name | default dict -}}
{{- mergeOverwrite (deepCopy .root.Values.serviceDefaults) (deepCopy $own) | toYaml -}}
{{- end -}}

{{/* The image of a component; call with (dict "root" $ "image" <component image override or nil>). */}}
{{- define "symphony.image" -}}
{{- $img := mergeOverwrite (deepCopy .root.Values.image) (deepCopy (.image | default dict)) -}}
{{- printf "%s:%s" $img.repository (default .root.Chart.AppVersion ($img.tag | toString) | toString) -}}
{{- end -}}

{{- define "symphony.imagePullPolicy" -}}
{{- $img := mergeOverwrite (deepCopy .root.Values.image) (deepCopy (.image | default dict)) -}}
{{- $img.pullPolicy -}}
{{- end -}}

{{/* In-cluster address of a backend's gRPC port; call with (dict "root" $ "name" "auth"). */}}
{{- define "symphony.peerAddress" -}}
{{- $port := (index .root.Values.services .name).grpcPort -}}
{{- $host := printf "%s-%s" (include "symphony.fullname" .root) .name -}}
{{- if .root.Values.peerDiscovery.headless -}}
{{- printf "dns:///%s-headless.%s.svc.%s:%v" $host .root.Release.Namespace .root.Values.clusterDomain $port -}}
{{- else -}}
{{- printf "%s.%s.svc.%s:%v" $host .root.Release.Namespace .root.Values.clusterDomain $port -}}
{{- end -}}
{{- end -}}

{{/* Environment every backend container gets (serve and migrate alike). */}}
{{- define "symphony.backendEnv" -}}
{{- $root := .root -}}
{{- $secret := include "symphony.secretName" $root -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: database-url
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: redis-url
- name: SYMPHONY_SERVICE_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: service-token
- name: SYMPHONY_PAGE_TOKEN_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: page-token-secret
- name: SYMPHONY_LOG_LEVEL
  value: {{ $root.Values.config.logLevel | quote }}
- name: SYMPHONY_TOKEN_ISSUER
  value: {{ $root.Values.config.tokenIssuer | quote }}
{{- include "symphony.peerEnv" $root }}
{{- include "symphony.commonEnv" $root }}
{{- end -}}

{{/* SYMPHONY_<SVC>_ADDRESS of every backend. */}}
{{- define "symphony.peerEnv" -}}
{{- $root := . -}}
{{- range $peer := list "auth" "registry" "sync" "analytics" }}
- name: SYMPHONY_{{ upper $peer }}_ADDRESS
  value: {{ include "symphony.peerAddress" (dict "root" $root "name" $peer) | quote }}
{{- end }}
{{- end -}}

{{- define "symphony.commonEnv" }}
- name: PYTHONDONTWRITEBYTECODE
  value: "1"
- name: PYTHONUNBUFFERED
  value: "1"
{{- range $k, $v := .Values.config.env }}
- name: {{ $k }}
  value: {{ include "symphony.envValue" $v }}
{{- end }}
{{- end -}}

{{/* Name: value map as env entries. */}}
{{- define "symphony.extraEnv" -}}
{{- range $k, $v := . }}
- name: {{ $k }}
  value: {{ include "symphony.envValue" $v }}
{{- end }}
{{- end -}}

{{/* A value as a quoted env string. Numbers that arrive as float64 (values passed as JSON, or
     --set-json) would print as 6.7108864e+07; whole numbers are printed as integers. */}}
{{- define "symphony.envValue" -}}
{{- if and (kindIs "float64" .) (eq (float64 (int64 .)) .) -}}
{{- int64 . | toString | quote -}}
{{- else -}}
{{- toString . | quote -}}
{{- end -}}
{{- end -}}

{{/* Scheduling fields shared by every pod; call with the component's settings. */}}
{{- define "symphony.scheduling" -}}
{{- with .priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "symphony.podSpecCommon" -}}
serviceAccountName: {{ include "symphony.serviceAccountName" . }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}
