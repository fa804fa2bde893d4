"""Understanding what people type, without a language model.

- :mod:`.corpus` loads the phrasing corpus shipped with the package;
- :mod:`.classifier` learns intents from it (TF-IDF character and word n-grams,
  a linear SVM), trained on first use and kept for the process and, through
  :mod:`.model_cache`, in the user's cache folder for the next processes;
- :mod:`.rules` (with :mod:`.lexicon`, :mod:`.tokens`, :mod:`.clause_reader`,
  :mod:`.patterns`) reads arguments from the words (sites, loads, ids, durations,
  times, periods) and splits combined questions into clauses;
- :mod:`.arguments` builds a tool's arguments for a chosen intent;
- :mod:`.routing` decides which tools a message asks for, or says plainly that
  it did not understand or cannot do it;
- :mod:`.followups` reads "and tomorrow?" / "what about the barn?" against the
  previous question;
- :mod:`.replies` words the "I didn't understand" and "I can't do that" answers;
- :mod:`.generate_corpus` (a development tool) writes the corpus.
"""
