/**
 * A fixed-capacity FIFO over a preallocated array: O(1) push, shift and eviction of the oldest item,
 * where Array.prototype.shift is O(n) on the 50,000–100,000-item buffers the stores keep.
 */
export class RingBuffer<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.size;
  }

  /** Appends `item`; when full, first evicts the oldest item and returns it. */
  push(item: T): T | undefined {
    let evicted: T | undefined;
    if (this.size === this.capacity) evicted = this.shift();
    this.items[(this.head + this.size) % this.capacity] = item;
    this.size++;
    return evicted;
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined; // let the GC have it
    this.head = (this.head + 1) % this.capacity;
    this.size--;
    return item;
  }

  peek(): T | undefined {
    return this.size === 0 ? undefined : this.items[this.head];
  }

  /** Removes and returns up to `count` of the oldest items, oldest first. */
  take(count: number): T[] {
    const out: T[] = [];
    while (out.length < count && this.size > 0) out.push(this.shift()!);
    return out;
  }

  /**
   * Puts `items` (oldest first) back before the current oldest; the ones that do not fit are the
   * oldest and are returned, not stored.
   */
  unshiftAll(items: T[]): T[] {
    const room = this.capacity - this.size;
    const overflow = items.length > room ? items.slice(0, items.length - room) : [];
    for (let i = items.length - 1; i >= overflow.length; i--) {
      this.head = (this.head - 1 + this.capacity) % this.capacity;
      this.items[this.head] = items[i];
      this.size++;
    }
    return overflow;
  }

  /** Visits the items oldest first. */
  forEach(visit: (item: T) => void): void {
    for (let i = 0; i < this.size; i++) visit(this.items[(this.head + i) % this.capacity] as T);
  }
}
