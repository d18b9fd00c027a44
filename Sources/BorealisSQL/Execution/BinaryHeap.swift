// A binary heap ordered by a caller's predicate: `first` is an element that no other element
// precedes. Used for top-N (ORDER BY … LIMIT) and for merging sorted runs.

import BorealisStorage

struct BinaryHeap<Element> {
    private(set) var elements: [Element] = []
    private let precedes: (Element, Element) -> Bool

    /// A heap whose `first` precedes (or ties) every other element under `precedes`.
    init(by precedes: @escaping (Element, Element) -> Bool) {
        self.precedes = precedes
    }

    var count: Int { elements.count }
    var isEmpty: Bool { elements.isEmpty }
    var first: Element? { elements.first }

    mutating func reserveCapacity(_ n: Int) { elements.reserveCapacity(n) }

    mutating func push(_ element: Element) {
        elements.append(element)
        var i = elements.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard precedes(elements[i], elements[parent]) else { break }
            elements.swapAt(parent, i)
            i = parent
        }
    }

    /// Replaces `first` with `element` (cheaper than a pop and a push).
    mutating func replaceFirst(with element: Element) {
        elements[0] = element
        siftDown(0)
    }

    @discardableResult
    mutating func popFirst() -> Element? {
        guard !elements.isEmpty else { return nil }
        let top = elements[0]
        let last = elements.removeLast()
        if !elements.isEmpty {
            elements[0] = last
            siftDown(0)
        }
        return top
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var best = i
            if l < elements.count && precedes(elements[l], elements[best]) { best = l }
            if r < elements.count && precedes(elements[r], elements[best]) { best = r }
            if best == i { return }
            elements.swapAt(i, best)
            i = best
        }
    }
}
