import ATProto
import Foundation
import TestSupport
import Testing

@testable import MST

/// The public MST vectors: key heights, prefixes, key validity, the known
/// trees of the reference implementation and the commit-proof fixtures.
@Suite("MST interop vectors")
struct MSTVectorTests {
    typealias JSON = [String: Any]

    @Test func keyHeights() throws {
        let cases = try Fixtures.json("interop/mst/key_heights.json") as! [JSON]
        for c in cases {
            let key = c["key"] as! String
            #expect(MSTKey.height(key) == c["height"] as! Int, "height of '\(key)'")
        }
        #expect(cases.count == 9)
        print("mst key heights: \(cases.count) vectors")
    }

    @Test func exampleKeysCarryTheirHeight() throws {
        let keys = try Fixtures.lines("interop/mst/example_keys.txt")
        for key in keys {
            let digit = Int(String(key[key.index(after: key.startIndex)]))!
            #expect(MSTKey.height(key) == digit, "height of '\(key)'")
        }
        #expect(keys.count == 156)
        print("mst example keys: \(keys.count) vectors")
    }

    @Test func commonPrefix() throws {
        let cases = try Fixtures.json("interop/mst/common_prefix.json") as! [JSON]
        for c in cases {
            let (l, r) = (c["left"] as! String, c["right"] as! String)
            #expect(MSTKey.commonPrefixLength(l, r) == c["len"] as! Int, "prefix of '\(l)' and '\(r)'")
        }
        #expect(cases.count == 13)
        print("mst common prefix: \(cases.count) vectors")
    }

    @Test func keyValidity() throws {
        let cases = try Fixtures.json("interop/atproto-monorepo/repo/mst-key-validity.json") as! [JSON]
        var valid = 0
        for c in cases {
            let key = c["key"] as! String
            let expected = c["valid"] as! Bool
            let note = c["note"] as? String ?? ""
            #expect(MSTKey.isValid(key) == expected, "'\(key.prefix(60))': \(note)")
            if expected { valid += 1 }
            var tree = MerkleSearchTree(store: MemoryBlockStore())
            if !expected {
                #expect(throws: MSTError.self) { try tree.put(key, MSTTestSupport.leaf) }
            }
        }
        #expect(cases.count == 31 && valid == 8)
        print("mst key validity: \(valid) valid, \(cases.count - valid) invalid")
    }

    @Test func knownTrees() throws {
        let cases = try Fixtures.json("interop/atproto-monorepo/repo/mst-known-trees.json") as! [JSON]
        var checkpoints = 0
        for c in cases {
            let name = c["name"] as! String
            let leaf = try CID(string: c["leafValue"] as! String)
            let store = MemoryBlockStore()
            var tree = MerkleSearchTree(store: store)
            var keys = Set<String>()
            for step in c["steps"] as! [JSON] {
                for op in step["ops"] as! [JSON] {
                    let key = op["key"] as! String
                    if op["op"] as! String == "add" {
                        try tree.add(key, leaf)
                        keys.insert(key)
                    } else {
                        #expect(try tree.delete(key) == leaf, "\(name): delete \(key)")
                        keys.remove(key)
                    }
                }
                let (root, blocks) = tree.serialize()
                store.putBlocks(blocks)
                #expect(root.string == step["root"] as! String, "\(name): root after step")
                #expect(try tree.count() == step["leafCount"] as! Int, "\(name): leaf count")
                if let layer = step["layer"] as? Int { #expect(tree.rootLayer == layer, "\(name): layer") }
                // The same keys built in bulk, and reloaded from the store, agree.
                var bulk = try MerkleSearchTree.build(store: store, entries: keys.map { ($0, leaf) })
                #expect(bulk.rootCID == root, "\(name): bulk build")
                let reloaded = try MerkleSearchTree(store: store, root: root)
                #expect(try reloaded.count() == keys.count)
                checkpoints += 1
            }
        }
        #expect(cases.count == 7 && checkpoints == 14)
        print("mst known trees: \(cases.count) trees, \(checkpoints) checkpoints")
    }

    @Test func commitProofs() throws {
        let cases = try Fixtures.json("interop/firehose/commit-proof-fixtures.json") as! [JSON]
        for c in cases {
            let name = c["comment"] as! String
            let leaf = try CID(string: c["leafValue"] as! String)
            let store = MemoryBlockStore()
            var tree = try MerkleSearchTree.build(
                store: store, entries: (c["keys"] as! [String]).map { ($0, leaf) })
            let before = tree.serialize()
            store.putBlocks(before.blocks)
            #expect(before.root.string == c["rootBeforeCommit"] as! String, "\(name): root before")

            var ops: [MSTOperation] = []
            for key in c["adds"] as! [String] {
                try tree.add(key, leaf)
                ops.append(MSTOperation(key: key, cid: leaf, previous: nil))
            }
            for key in c["dels"] as! [String] {
                #expect(try tree.delete(key) == leaf)
                ops.append(MSTOperation(key: key, cid: nil, previous: leaf))
            }
            let after = tree.serialize()
            store.putBlocks(after.blocks)
            #expect(after.root.string == c["rootAfterCommit"] as! String, "\(name): root after")

            let proof = try MerkleSearchTree.inversionProof(operations: ops, root: after.root, store: store)
            for required in c["blocksInProof"] as! [String] {
                #expect(proof.keys.contains(try CID(string: required)), "\(name): proof lacks \(required)")
            }
            // The proof alone is enough to get back to the previous root.
            let inverted = try MerkleSearchTree.invert(
                operations: ops, root: after.root, store: MemoryBlockStore(proof))
            #expect(inverted == before.root, "\(name): inversion")
        }
        #expect(cases.count == 6)
        print("mst commit proofs: \(cases.count) vectors")
    }
}

enum MSTTestSupport {
    static let leaf = try! CID(string: "bafyreie5cvv4h45feadgeuwhbcutmh6t2ceseocckahdoe6uat64zmz454")

    /// A CID standing for the record `n`.
    static func value(_ n: Int) -> CID {
        CID.compute(Array("record \(n)".utf8))
    }
}
