/** One line of `make doctor`: what was found and, when it is a problem, the fix. */
export interface Finding {
  check: string;
  status: 'ok' | 'warn' | 'fail' | 'info';
  detail: string;
  fix?: string;
}
