/** A binary min-heap over numeric keys (kept in a typed array: the hot loop compares only numbers). */
export class KeyHeap<T> {
  private keys = new Float64Array(1024);
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  /** Smallest key, or Infinity when empty. */
  peekKey(): number {
    return this.items.length > 0 ? this.keys[0]! : Infinity;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(key: number, item: T): void {
    const n = this.items.length;
    if (n === this.keys.length) {
      const grown = new Float64Array(n * 2);
      grown.set(this.keys);
      this.keys = grown;
    }
    const keys = this.keys;
    const items = this.items;
    items.push(item);
    let i = n;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (keys[p]! <= key) break;
      keys[i] = keys[p]!;
      items[i] = items[p]!;
      i = p;
    }
    keys[i] = key;
    items[i] = item;
  }

  /** Gives the top item a new (larger) key and restores the order. */
  replaceTopKey(key: number): void {
    this.siftDown(key, this.items[0]!);
  }

  pop(): T {
    const items = this.items;
    const top = items[0]!;
    const last = items.pop()!;
    const lastKey = this.keys[items.length]!;
    if (items.length > 0) this.siftDown(lastKey, last);
    return top;
  }

  private siftDown(key: number, item: T): void {
    const keys = this.keys;
    const items = this.items;
    const n = items.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && keys[r]! < keys[l]! ? r : l;
      if (keys[c]! >= key) break;
      keys[i] = keys[c]!;
      items[i] = items[c]!;
      i = c;
    }
    keys[i] = key;
    items[i] = item;
  }
}
