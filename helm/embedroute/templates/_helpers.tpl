{{/* Names, labels and the checks that keep the values consistent with each other. */}}

{{- define "embedroute.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "embedroute.fullname" -}}
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

{{- define "embedroute.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: immutable on a Deployment, so they never include the version. */}}
{{- define "embedroute.selectorLabels" -}}
app.kubernetes.io/name: {{ include "embedroute.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{- define "embedroute.labels" -}}
helm.sh/chart: {{ include "embedroute.chart" . }}
{{ include "embedroute.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "embedroute.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "embedroute.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The CUDA image carries the GPU build of llama.cpp; the CPU image runs on any x86-64 CPU. */}}
{{- define "embedroute.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- $variant := ternary "cuda" "cpu" .Values.gpu.enabled }}
{{- $tag := default (printf "%s-%s" .Chart.AppVersion $variant) .Values.image.tag }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/*
Seconds a terminating pod needs: the preStop sleep (endpoints and proxies stop sending new calls
before the server hears SIGTERM), then the server's drain grace (in-flight calls finish), then a
margin for the process to exit. A mesh proxy must stay up for the first two.
*/}}
{{- define "embedroute.drainSeconds" -}}
{{- add (int .Values.termination.preStopSleepSeconds) (int .Values.server.drainGraceSeconds) }}
{{- end }}

{{- define "embedroute.minGracePeriodSeconds" -}}
{{- add (include "embedroute.drainSeconds" . | int) (int .Values.termination.marginSeconds) }}
{{- end }}

{{/* terminationGracePeriodSeconds: computed, or the explicit value when it is long enough. */}}
{{- define "embedroute.terminationGracePeriodSeconds" -}}
{{- $min := include "embedroute.minGracePeriodSeconds" . | int }}
{{- $explicit := .Values.termination.gracePeriodSeconds }}
{{- if kindIs "invalid" $explicit }}
{{- $min }}
{{- else if lt (int $explicit) $min }}
{{- fail (printf "termination.gracePeriodSeconds=%d is shorter than preStopSleepSeconds (%d) + server.drainGraceSeconds (%d) + marginSeconds (%d) = %d: the kubelet would kill in-flight calls" (int $explicit) (int .Values.termination.preStopSleepSeconds) (int .Values.server.drainGraceSeconds) (int .Values.termination.marginSeconds) $min) }}
{{- else }}
{{- int $explicit }}
{{- end }}
{{- end }}

{{/* startupProbe failureThreshold covering probes.startup.maxStartupSeconds (rounded up). */}}
{{- define "embedroute.startupFailureThreshold" -}}
{{- $period := int .Values.probes.startup.periodSeconds }}
{{- $max := int .Values.probes.startup.maxStartupSeconds }}
{{- div (add $max $period -1) $period }}
{{- end }}

{{/*
One probe handler. Kubelet's native gRPC probe speaks plaintext only, so with TLS on the probe runs
the image's embedroute-healthcheck (grpc_health_probe with the server's TLS settings) instead.
*/}}
{{- define "embedroute.probeHandler" -}}
{{- $root := index . 0 }}
{{- $service := index . 1 }}
{{- if $root.Values.tls.enabled }}
exec:
  command:
    - embedroute-healthcheck
    - {{ $service | quote }}
{{- else }}
grpc:
  port: {{ $root.Values.server.port }}
  service: {{ $service | quote }}
{{- end }}
{{- end }}

{{/* EMBEDROUTE_* variables (envFrom) and the --config file live in two ConfigMaps: a key such as
config.yaml is not a valid variable name and would only produce warnings under envFrom. */}}
{{- define "embedroute.envConfigMapName" -}}
{{- printf "%s-env" (include "embedroute.fullname" .) }}
{{- end }}

{{- define "embedroute.fileConfigMapName" -}}
{{- printf "%s-config" (include "embedroute.fullname" .) }}
{{- end }}

{{- define "embedroute.configDir" -}}/etc/embedroute/config{{- end }}
{{- define "embedroute.apiKeysDir" -}}/etc/embedroute/api-keys{{- end }}
{{- define "embedroute.tlsDir" -}}/etc/embedroute/tls{{- end }}
{{- define "embedroute.clientCADir" -}}/etc/embedroute/client-ca{{- end }}

{{/* Render-time checks that a schema cannot express. */}}
{{- define "embedroute.validate" -}}
{{- if and (not .Values.models.existingClaim) (not .Values.models.pull.enabled) }}
{{- fail "models: set models.existingClaim (a PVC holding the GGUF files) or enable models.pull; otherwise the server starts with no model" }}
{{- end }}
{{- if and .Values.models.pull.enabled (empty .Values.models.pull.repos) }}
{{- fail "models.pull.enabled needs at least one entry in models.pull.repos" }}
{{- end }}
{{- if and .Values.apiKeys.enabled (not .Values.apiKeys.existingSecret) }}
{{- fail "apiKeys.enabled needs apiKeys.existingSecret (a Secret holding the keys file)" }}
{{- end }}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) }}
{{- fail "tls.enabled needs tls.existingSecret (a kubernetes.io/tls Secret)" }}
{{- end }}
{{- if and .Values.tls.clientCA.enabled (not .Values.tls.enabled) }}
{{- fail "tls.clientCA.enabled needs tls.enabled" }}
{{- end }}
{{- if and .Values.serviceMonitor.enabled (eq (int .Values.server.metricsPort) 0) }}
{{- fail "serviceMonitor.enabled needs server.metricsPort > 0" }}
{{- end }}
{{- if and .Values.podDisruptionBudget.enabled (eq (kindIs "invalid" .Values.podDisruptionBudget.maxUnavailable) (kindIs "invalid" .Values.podDisruptionBudget.minAvailable)) }}
{{- fail "podDisruptionBudget: set exactly one of maxUnavailable and minAvailable" }}
{{- end }}
{{- if eq (int .Values.server.port) (int .Values.server.metricsPort) }}
{{- fail "server.port and server.metricsPort must differ" }}
{{- end }}
{{- $liveWindow := mul (int .Values.probes.liveness.periodSeconds) (int .Values.probes.liveness.failureThreshold) }}
{{- if lt (int $liveWindow) (include "embedroute.drainSeconds" . | int) }}
{{- fail (printf "probes.liveness: periodSeconds x failureThreshold (%ds) must cover preStop + drain grace (%ss): health turns NOT_SERVING while the server drains" (int $liveWindow) (include "embedroute.drainSeconds" .)) }}
{{- end }}
{{- end }}
