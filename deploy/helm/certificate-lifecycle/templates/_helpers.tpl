{{- define "cl.name" -}}{{ .Release.Name }}-certificate-lifecycle{{- end -}}

{{- define "cl.labels" -}}
app.kubernetes.io/name: certificate-lifecycle
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "cl.selector" -}}
app.kubernetes.io/name: certificate-lifecycle
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The secrets a process reads, each from its file in the mounted Secret. */}}
{{- define "cl.secretEnv" -}}
{{- range .names }}
- name: {{ . }}_FILE
  value: /run/secrets/connector/{{ . }}
{{- end }}
{{- end -}}

{{/* Temporal's environment configuration and the settings both processes share. */}}
{{- define "cl.commonEnv" -}}
- name: TEMPORAL_ADDRESS
  value: {{ .Values.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ .Values.temporal.namespace | quote }}
{{- if or .Values.temporal.tls .Values.temporalClientSecret }}
- name: TEMPORAL_TLS
  value: "true"
{{- end }}
{{- with .Values.temporal.serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ . | quote }}
{{- end }}
{{- if .Values.temporalClientSecret }}
- name: TEMPORAL_TLS_CLIENT_CERT_PATH
  value: /run/secrets/temporal/tls.crt
- name: TEMPORAL_TLS_CLIENT_KEY_PATH
  value: /run/secrets/temporal/tls.key
{{- end }}
- name: JIRA_BASE_URL
  value: {{ .Values.jira.baseUrl | quote }}
{{- with .Values.jira.email }}
- name: JIRA_EMAIL
  value: {{ . | quote }}
{{- end }}
{{- with .Values.jira.username }}
- name: JIRA_USERNAME
  value: {{ . | quote }}
{{- end }}
{{- with .Values.jira.revokersGroup }}
- name: JIRA_REVOKERS_GROUP
  value: {{ . | quote }}
{{- end }}
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* The Secret's keys this process mounts (.names), and nothing else of it; no volume without keys. */}}
{{- define "cl.volumes" -}}
{{- if .names }}
- name: connector-secrets
  secret:
    secretName: {{ .Values.existingSecret }}
    defaultMode: 0440
    items:
    {{- range .names }}
      - key: {{ . }}
        path: {{ . }}
    {{- end }}
{{- end }}
{{- if .Values.temporalClientSecret }}
- name: temporal-client
  secret:
    secretName: {{ .Values.temporalClientSecret }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{- define "cl.volumeMounts" -}}
{{- if .names }}
- name: connector-secrets
  mountPath: /run/secrets/connector
  readOnly: true
{{- end }}
{{- if .Values.temporalClientSecret }}
- name: temporal-client
  mountPath: /run/secrets/temporal
  readOnly: true
{{- end }}
{{- end -}}
