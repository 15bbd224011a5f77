# >>> llm-workbench >>>
# Managed by llm-workbench (profile vulkan-llama-cpp-python): this block is rewritten on each provision.
if command -v conda >/dev/null 2>&1; then conda activate llm-3.10; fi
export OPENAI_BASE_URL=http://127.0.0.1:8080/v1
export OPENAI_API_KEY=Dummy
llm_workbench_jupyter_url() {
  printf '%s%s\n' 'http://127.0.0.1:18888/lab?token=' "$(cat /home/user/.local/state/llm-workbench/vulkan-llama-cpp-python/jupyter-token 2>/dev/null)"
}
# <<< llm-workbench <<<
