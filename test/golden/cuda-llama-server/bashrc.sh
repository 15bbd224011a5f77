# >>> llm-workbench >>>
# Managed by llm-workbench (profile cuda-llama-server): this block is rewritten on each provision.
# shellcheck source=/dev/null
if [ -f /home/user/.local/share/llm-workbench/envs/llm-workbench/bin/activate ]; then . /home/user/.local/share/llm-workbench/envs/llm-workbench/bin/activate; fi
export OPENAI_BASE_URL=http://127.0.0.1:8080/v1
export OPENAI_API_KEY=Dummy
llm_workbench_jupyter_url() {
  printf '%s%s\n' 'http://127.0.0.1:18888/lab?token=' "$(cat /home/user/.local/state/llm-workbench/cuda-llama-server/jupyter-token 2>/dev/null)"
}
# <<< llm-workbench <<<
