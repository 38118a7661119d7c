{{/* An image: <registry>/<image>:<version>, from (dict "c" <component values> "version" .Values.version). */}}
{{- define "calico.image" -}}
{{- if .c.registry -}}{{ .c.registry }}/{{- end -}}{{ .c.image }}:{{ .version }}
{{- end -}}
