"""Real captured Hypernym API pairs (hypernym-api.md §3): the fixtures the fake provider serves.

The texts below are the model outputs of Hypernym's own responses of 2025-07-27 (standard tier,
one segment). The fake provider returns them for the captured essay, so every number that
follows from the text (tokens, ratio, totals, suggested) must come out exactly as captured.
"""

from __future__ import annotations

ESSAY_TEXT = (
    "Quantum computing represents a paradigm shift in computational capabilities. Unlike "
    "classical computers that use bits representing either 0 or 1, quantum computers utilize "
    "qubits that can exist in superposition states. This fundamental difference enables "
    "quantum computers to process vast amounts of information simultaneously.  The "
    "implications for cryptography are profound. Current encryption methods rely on the "
    "computational difficulty of factoring large prime numbers. Quantum computers could "
    "break these encryptions in minutes rather than millennia. This has led to the "
    "development of quantum-resistant cryptographic algorithms.  In drug discovery, quantum "
    "simulations can model molecular interactions at unprecedented scales. Pharmaceutical "
    "companies are investing billions in quantum research to accelerate drug development. "
    "The ability to simulate protein folding could revolutionize treatment for diseases like "
    "Alzheimer's and cancer.  Financial modeling presents another frontier. Portfolio "
    "optimization, risk analysis, and derivative pricing could benefit from quantum "
    "speedups. Major banks are establishing quantum computing divisions to maintain "
    "competitive advantages in high-frequency trading and risk management.  However, "
    "significant challenges remain. Quantum decoherence limits computation time, requiring "
    "extreme cooling to near absolute zero. Error rates are still too high for practical "
    "applications. The engineering challenges of scaling from dozens to millions of qubits "
    "remain formidable. "
)
"""§3.1's request content: five 'paragraphs' joined by double spaces (one segment)."""

CATEGORY = "Quantum computing's transformative impact on industries."

ELEMENTS_5 = ("quantum computing", "qubits", "cryptography", "drug discovery", "financial modeling")
DETAILS_5 = (
    "Represents a significant advancement in computational capabilities beyond classical methods.",
    "Utilize superposition states, allowing simultaneous processing of vast information.",
    "Current methods may be compromised by quantum computers, prompting development of "
    "quantum-resistant algorithms.",
    "Quantum simulations can model molecular interactions, accelerating drug development "
    "significantly.",
    "Quantum computing enhances portfolio optimization and risk analysis for competitive "
    "advantages.",
)
RECONSTRUCTION_5 = (
    "Quantum computing is revolutionizing industries by significantly advancing computational "
    "capabilities beyond classical methods, utilizing superposition states for simultaneous "
    "processing of vast amounts of information. This technology poses challenges to current "
    "methods, necessitating the development of quantum-resistant algorithms. Additionally, quantum "
    "simulations are accelerating drug development by effectively modeling molecular interactions, "
    "while also enhancing portfolio optimization and risk analysis, providing competitive "
    "advantages in various sectors."
)

ELEMENTS_9 = (
    "quantum computing",
    "classical computers",
    "qubits",
    "cryptography",
    "quantum-resistant algorithms",
    "drug discovery",
    "pharmaceutical investments",
    "financial modeling",
    "quantum challenges",
)
DETAILS_9 = (
    "represents a major shift in computational capabilities.",
    "use bits that represent either 0 or 1.",
    "can exist in superposition states for simultaneous processing.",
    "current methods rely on factoring large prime numbers.",
    "developed to counteract potential quantum threats.",
    "quantum simulations model molecular interactions effectively.",
    "companies invest billions in quantum research for drug development.",
    "quantum speedups enhance portfolio optimization and risk analysis.",
    "include decoherence, high error rates, and scaling issues.",
)
RECONSTRUCTION_9 = (
    "Quantum computing is revolutionizing industries by significantly enhancing computational "
    "capabilities through the use of qubits, which can exist in superposition for simultaneous "
    "processing, unlike traditional bits that represent either 0 or 1. This technology is poised "
    "to transform fields such as drug development, where companies are investing billions in "
    "quantum research for effective molecular simulations, and finance, where quantum speedups "
    "improve portfolio optimization and risk analysis. However, challenges such as decoherence, "
    "high error rates, and scaling issues must be addressed to fully realize its potential, "
    "especially as current methods rely on factoring large prime numbers, which quantum computing "
    "aims to counteract."
)

HYPERSTRING_5 = CATEGORY + "::" + ";".join(f"{n}={d}" for n, d in enumerate(DETAILS_5))
HYPERSTRING_9 = CATEGORY + "::" + ";".join(f"{n}={d}" for n, d in enumerate(DETAILS_9))

TOKENS_IN = 236
TOKENS_OUT_5 = 84
TOKENS_OUT_9 = 115

STANDARD_TEST_KEY_HASH = "1b0c759e0e6ccad1"
"""hashed_api_key of the captures: sha256 of Hypernym's public standard-tier test key, 16 hex."""

SHORT_TEXT = "Test text to process"
SHORT_CATEGORY = "Text processing task"
"""§3.6: a zone-1 input and the category the README shows for it."""

CAPTURED_SEGMENT_KEYS = frozenset(
    {
        "was_compressed",
        "has_semantic_category",
        "semantic_category",
        "covariant_elements",
        "covariant_details",
        "original",
        "reconstructed",
        "semantic_similarity",
        "compression_ratio",
        "min_compression_ratio",
        "min_semantic_similarity",
        "category_similarities",
        "excluded_by_filter",
        "exclusion_reason",
    }
)
CAPTURED_METADATA_KEYS = frozenset(
    {
        "version",
        "timestamp",
        "tokens",
        "filters_applied",
        "excluded_segments_count",
        "processing_time",
        "parallel_processing",
        "parallel_metrics",
    }
)
CAPTURED_PARALLEL_METRICS_KEYS = frozenset(
    {
        "avg_paragraph_time",
        "max_concurrent_tasks",
        "parallel_efficiency",
        "total_paragraphs",
    }
)
CAPTURED_ENVELOPE_KEYS = frozenset(
    {"status", "tier", "request_id", "log_id", "processing_time", "results"}
)
CAPTURED_PARAMS_KEYS = frozenset(
    {
        "analysis_mode",
        "force_detail_count",
        "force_single_segment",
        "hashed_api_key",
        "include_embeddings",
        "min_compression_ratio",
        "min_semantic_similarity",
        "request_id",
        "tier",
    }
)
