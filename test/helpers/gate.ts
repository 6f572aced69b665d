/**
 * A promise and the function that settles it: how a test makes one transaction (or request)
 * wait at a point until another has reached its own.
 */
export function gate(): [opened: Promise<void>, open: () => void] {
  let open!: () => void;
  return [new Promise<void>((resolve) => (open = resolve)), open];
}
