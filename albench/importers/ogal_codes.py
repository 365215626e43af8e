"""OGAL's enumerations, decoded from its own code (not its documentation).

Source: github.com/jgonsior/olympic-games-of-active-learning at d6ace4e
(the newest commit; the enumerations below last changed in 2023):

- ``STRATEGIES``: ``resources/data_types.py``, ``class AL_STRATEGY(IntEnum)``
  (id -> name) and ``al_strategy_to_python_classes_mapping`` (the class OGAL
  instantiates and its keyword arguments; source text where they are not
  literals). Commented-out members (5, 13, 14, 42, 48, ...) never ran.
- ``LEARNERS``: the same file, ``class LEARNER_MODEL(IntEnum)`` and
  ``learner_models_to_classes_mapping``. OGAL's documentation
  (``docs/personas/analyze_dataset.md``) says "1=RF, 2=MLP, 3=SVM"; the code
  says RF = 1, RBF_SVM = 5, MLP = 8 (its grid ``full_exp_jan`` uses
  ``[MLP, RBF_SVM, RF]``), and 2 and 3 are DT and MNB. The code is what wrote
  the results.
- ``DATASETS``: ``datasets/__init__.py`` builds ``DATASET`` with
  ``extend_enum`` (ids 1, 2, ... in order) from the keys of
  ``resources/kaggle_datasets.yaml`` followed by those of
  ``resources/openml_datasets.yaml``; id = position in this tuple + 1 (104
  names, matching the grid's ``EXP_GRID_DATASET: [1-104]``). Data sets added
  through a local ``.local_datasets.yaml`` carry their own ``enum_id`` and
  are not known here; their metric folders still carry their names.

Only names and class paths are kept here, no code of OGAL's.
"""

from __future__ import annotations

STRATEGIES: dict[int, tuple[str, str, dict | str]] = {
    1: ('ALIPY_RANDOM', 'alipy.query_strategy.QueryInstanceRandom', {}),
    2: ('ALIPY_UNCERTAINTY_LC', 'alipy.query_strategy.QueryInstanceUncertainty', {'measure': 'least_confident'}),
    3: ('ALIPY_GRAPH_DENSITY', 'alipy.query_strategy.QueryInstanceGraphDensity', {}),
    4: ('ALIPY_CORESET_GREEDY', 'alipy.query_strategy.QueryInstanceCoresetGreedy', {}),
    6: ('OPTIMAL_BSO', 'optimal_query_strategies.BSO_optimal.Beeam_Search_Optimal',
        "{'future_peak_eval_metric': FuturePeakEvalMetric.ACC}"),
    7: ('OPTIMAL_TRUE', 'optimal_query_strategies.true_optimal.True_Optimal',
        "{'future_peak_eval_metric': FuturePeakEvalMetric.ACC}"),
    8: ('OPTIMAL_GREEDY_10', 'optimal_query_strategies.greedy_optimal.Greedy_Optimal',
        "{'amount_of_pre_selections': 10, 'future_peak_eval_metric': FuturePeakEvalMetric.ACC}"),
    9: ('LIBACT_UNCERTAINTY_LC', 'libact.query_strategies.UncertaintySampling', {'method': 'lc'}),
    10: ('LIBACT_QBC', 'libact.query_strategies.QueryByCommittee', {}),
    11: ('LIBACT_DWUS', 'libact.query_strategies.DWUS', {}),
    12: ('LIBACT_QUIRE', 'libact.query_strategies.QUIRE', {}),
    15: ('PLAYGROUND_GRAPH_DENSITY', 'playground.sampling_methods.graph_density.GraphDensitySampler', {}),
    16: ('PLAYGROUND_HIERARCHICAL_CLUSTER',
         'playground.sampling_methods.hierarchical_clustering_AL.HierarchicalClusterAL',
        {}),
    17: ('PLAYGROUND_INFORMATIVE_DIVERSE',
         'playground.sampling_methods.informative_diverse.InformativeClusterDiverseSampler',
        {}),
    18: ('PLAYGROUND_KCENTER_GREEDY', 'playground.sampling_methods.kcenter_greedy.kCenterGreedy', {}),
    19: ('PLAYGROUND_MARGIN', 'playground.sampling_methods.margin_AL.MarginAL', {}),
    20: ('PLAYGROUND_MIXTURE', 'playground.sampling_methods.mixture_of_samplers.MixtureOfSamplers', {}),
    21: ('PLAYGROUND_MCM', 'playground.sampling_methods.represent_cluster_centers.RepresentativeClusterMeanSampling',
        {}),
    22: ('PLAYGROUND_UNIFORM', 'playground.sampling_methods.uniform_sampling.UniformSampling', {}),
    23: ('ALIPY_QBC', 'alipy.query_strategy.QueryInstanceQBC', {}),
    24: ('ALIPY_EXPECTED_ERROR_REDUCTION', 'alipy.query_strategy.QueryExpectedErrorReduction', {}),
    25: ('ALIPY_BMDR', 'alipy.query_strategy.QueryInstanceBMDR', {}),
    26: ('ALIPY_SPAL', 'alipy.query_strategy.QueryInstanceSPAL', {}),
    27: ('ALIPY_LAL', 'alipy.query_strategy.QueryInstanceLAL', {'train_slt': False}),
    28: ('ALIPY_DENSITY_WEIGHTED', 'alipy.query_strategy.QueryInstanceDensityWeighted', {}),
    29: ('LIBACT_EER', 'libact.query_strategies.multiclass.EER', {}),
    30: ('LIBACT_HIERARCHICAL_SAMPLING', 'libact.query_strategies.multiclass.HierarchicalSampling', {}),
    31: ('LIBACT_ALBL', 'libact.query_strategies.ActiveLearningByLearning', {}),
    32: ('PLAYGROUND_BANDIT', 'playground.sampling_methods.bandit_discrete.BanditDiscreteSampler', {}),
    33: ('ALIPY_UNCERTAINTY_MM', 'alipy.query_strategy.QueryInstanceUncertainty', {'measure': 'margin'}),
    34: ('ALIPY_UNCERTAINTY_ENTROPY', 'alipy.query_strategy.QueryInstanceUncertainty', {'measure': 'entropy'}),
    35: ('ALIPY_UNCERTAINTY_DTB', 'alipy.query_strategy.QueryInstanceUncertainty',
        {'measure': 'distance_to_boundary'}),
    36: ('LIBACT_UNCERTAINTY_SM', 'libact.query_strategies.UncertaintySampling', {'method': 'sm'}),
    37: ('LIBACT_UNCERTAINTY_ENT', 'libact.query_strategies.UncertaintySampling', {'method': 'entropy'}),
    38: ('OPTIMAL_GREEDY_20', 'optimal_query_strategies.greedy_optimal.Greedy_Optimal',
        "{'amount_of_pre_selections': 20, 'future_peak_eval_metric': FuturePeakEvalMetric.ACC}"),
    39: ('SMALLTEXT_LEASTCONFIDENCE', 'small_text.LeastConfidence', {}),
    40: ('SMALLTEXT_PREDICTIONENTROPY', 'small_text.PredictionEntropy', {}),
    41: ('SMALLTEXT_BREAKINGTIES', 'small_text.BreakingTies', {}),
    43: ('SMALLTEXT_EMBEDDINGKMEANS', 'small_text.EmbeddingKMeans', {}),
    44: ('SMALLTEXT_GREEDYCORESET', 'small_text.GreedyCoreset', {}),
    45: ('SMALLTEXT_LIGHTWEIGHTCORESET', 'small_text.LightweightCoreset', {}),
    46: ('SMALLTEXT_CONTRASTIVEAL', 'small_text.ContrastiveActiveLearning', {}),
    47: ('SMALLTEXT_DISCRIMINATIVEAL', 'small_text.DiscriminativeActiveLearning', {}),
    50: ('SMALLTEXT_RANDOM', 'small_text.RandomSampling', {}),
    54: ('SKACTIVEML_MC_EER_LOG_LOSS', 'skactiveml.pool.MonteCarloEER', {'method': 'log_loss'}),
    55: ('SKACTIVEML_MC_EER_MISCLASS_LOSS', 'skactiveml.pool.MonteCarloEER', {}),
    56: ('SKACTIVEML_VOI_UNLABELED', 'skactiveml.pool.ValueOfInformationEER',
        {'consider_labeled': False, 'subtract_current': True, 'normalize': True}),
    57: ('SKACTIVEML_VOI_LABELED', 'skactiveml.pool.ValueOfInformationEER',
        {'consider_unlabeled': False, 'candidate_to_labeled': False}),
    58: ('SKACTIVEML_VOI', 'skactiveml.pool.ValueOfInformationEER', {'subtract_current': True}),
    60: ('SKACTIVEML_QBC', 'skactiveml.pool.QueryByCommittee', {}),
    63: ('SKACTIVEML_US_MARGIN', 'skactiveml.pool.UncertaintySampling', {'method': 'margin_sampling'}),
    64: ('SKACTIVEML_US_LC', 'skactiveml.pool.UncertaintySampling', {}),
    65: ('SKACTIVEML_US_ENTROPY', 'skactiveml.pool.UncertaintySampling', {'method': 'entropy'}),
    66: ('SKACTIVEML_EXPECTED_AVERAGE_PRECISION', 'skactiveml.pool.UncertaintySampling',
        {'method': 'expected_average_precision'}),
    67: ('SKACTIVEML_DWUS', 'skactiveml.pool.UncertaintySampling', {}),
    69: ('SKACTIVEML_COST_EMBEDDING', 'skactiveml.pool.CostEmbeddingAL', {}),
    70: ('SKACTIVEML_DAL', 'skactiveml.pool.DiscriminativeAL', {}),
    74: ('SKACTIVEML_MCPAL', 'skactiveml.pool.ProbabilisticAL', {}),
    75: ('SKACTIVEML_QBC_VOTE_ENTROPY', 'skactiveml.pool.QueryByCommittee', {'method': 'vote_entropy'}),
    76: ('SKACTIVEML_QUIRE', 'skactiveml.pool.Quire', {'classes': [0, 1], 'metric_dict': {'gamma': 0.1}}),
}
LEARNERS: dict[int, tuple[str, str, dict | str]] = {
    1: ('RF', 'sklearn.ensemble.RandomForestClassifier', "{'n_jobs': multiprocessing.cpu_count()}"),
    2: ('DT', 'sklearn.tree.DecisionTreeClassifier', {}),
    3: ('MNB', 'sklearn.naive_bayes.MultinomialNB', {}),
    4: ('GNB', 'sklearn.naive_bayes.GaussianNB', {}),
    5: ('RBF_SVM', 'sklearn.svm.SVC', {'kernel': 'rbf', 'probability': True}),
    6: ('LINEAR_SVM', 'sklearn.svm.SVC', {'kernel': 'linear', 'probability': True}),
    7: ('POLY_SVM', 'sklearn.svm.SVC', {'kernel': 'poly', 'probability': True}),
    8: ('MLP', 'sklearn.neural_network.MLPClassifier',
        {'hidden_layer_sizes': (100,), 'activation': 'relu', 'solver': 'adam',
         'learning_rate': 'adaptive', 'max_iter': 1000, 'warm_start': False, 'early_stopping': False}),
    9: ('LBFGS_MLP', 'sklearn.neural_network.MLPClassifier',
        {'hidden_layer_sizes': (100,), 'activation': 'relu', 'solver': 'lbfgs'}),
    10: ('LOG_REG', 'libact.models.LogisticRegression', {}),
    11: ('SVM_LIBACT', 'libact.models.SVM', {'kernal': 'linear', 'decision_function_shape': 'ovr'}),
    12: ('LR', 'libact.models.LogisticRegression', {}),
    13: ('DEEP_LEARNING2', 'sklearn.neural_network.MLPClassifier',
        {'hidden_layer_sizes': (100, 100, 100), 'activation': 'relu', 'solver': 'adam',
         'learning_rate': 'adaptive', 'max_iter': 1000, 'warm_start': False, 'early_stopping': False}),
    14: ('DEEP_LEARNING3', 'sklearn.neural_network.MLPClassifier',
        {'hidden_layer_sizes': (100, 100, 100, 100, 100, 100), 'activation': 'relu', 'solver': 'adam',
         'learning_rate': 'adaptive', 'max_iter': 1000, 'warm_start': False, 'early_stopping': False}),
}
DATASETS = (  # id = position + 1
    'Iris', 'wine_origin', 'glass', 'parkinsons', 'sonar', 'seeds', 'thyroid', 'statlog_heart', 'haberman',
    'ionosphere', 'musk2', 'breast_cancer_wisconsin_original', 'wdbc', 'statlog_australian', 'diabetes',
    'mammographic', 'statlog_vehicle', 'tic_tac_toe', 'statlog_germany', 'splice_junction', 'phishing',
    'spambase', 'banana', 'ex8a', 'ex8b', 'musk1', 'phoneme', 'appendicitis', 'texture', 'ringnorm',
    'twonorm', 'r15', 'd31', 'dwtc', 'xor_2x2', 'xor_4x4', 'xor_2x2_rotated', 'gaussian_balanced',
    'gaussian_unbalanced', 'annthyroid', 'soybean', 'PenDigits', 'waveform', 'scale', 'wbc', 'hill-valley',
    'ozone-level', 'blood', 'ac-inflam', 'cardiotocography', 'planning-relax', 'fertility', 'cylinder',
    'hepatitis', 'arrythmia', 'letter', 'liver', 'molecular-biology', 'page-blocks', 'kr-vs-kp',
    'balance-scale', 'mfeat-factors', 'mfeat-fourier', 'mfeat-karhunen', 'mfeat-morphological',
    'mfeat-zernike', 'cmc', 'optdigits', 'credit-approval', 'credit-g', 'sick', 'satimage', 'eucalyptus',
    'isolet', 'vowel', 'analcatdata_authorship', 'analcatdata_dmft', 'pc4', 'pc3', 'jm1', 'kc2', 'kc1', 'pc1',
    'banknote-authentication', 'cnae-9', 'first-order-theorem-proving', 'har', 'ilpd', 'madelon',
    'qsar-biodeg', 'wall-robot-navigation', 'semeion', 'Bioresponse', 'GesturePhaseSegmentationProcessed',
    'dresses-sales', 'churn', 'MiceProtein', 'car', 'Internet-Advertisements', 'mfeat-pixel',
    'steel-plates-fault', 'wilt', 'segment', 'climate-model-simulation-crashes',
)

FRAMEWORKS = ("ALIPY", "OPTIMAL", "LIBACT", "PLAYGROUND", "SMALLTEXT", "SKACTIVEML")  # AL_FRAMEWORK, by name prefix


def framework_of(strategy: str) -> str:
    """The library a strategy name belongs to (02_run_experiment.py picks the runner by this prefix)."""
    return next((f.lower() for f in FRAMEWORKS if strategy.startswith(f)), "unknown")
